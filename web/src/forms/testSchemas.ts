// Real schemas from GET /api/node-types and GET /api/credential-types (copied from the
// gateway's catalogue), for the form tests. A pydantic discriminated union is added since no
// node uses one yet.
import type { JsonSchema } from "../api/types";

/** `http` config. */
export const httpConfig: JsonSchema = {
  "additionalProperties": false,
  "description": "Call an HTTP endpoint. Non-2xx responses fail the node unless `allow_non_2xx` is set.",
  "properties": {
    "method": {
      "default": "GET",
      "enum": [
        "GET",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "HEAD",
        "OPTIONS"
      ],
      "title": "Method",
      "type": "string"
    },
    "url": {
      "description": "Absolute http(s) URL; templates allowed.",
      "minLength": 1,
      "title": "Url",
      "type": "string"
    },
    "query": {
      "additionalProperties": true,
      "description": "Query-string parameters.",
      "title": "Query",
      "type": "object"
    },
    "headers": {
      "additionalProperties": {
        "type": "string"
      },
      "title": "Headers",
      "type": "object"
    },
    "body_type": {
      "default": "none",
      "enum": [
        "none",
        "json",
        "form",
        "raw"
      ],
      "title": "Body Type",
      "type": "string"
    },
    "body": {
      "default": null,
      "description": "JSON value for `json`, an object of fields for `form`, a string for `raw`.",
      "title": "Body"
    },
    "timeout_s": {
      "default": 30.0,
      "exclusiveMinimum": 0,
      "maximum": 300,
      "title": "Timeout S",
      "type": "number"
    },
    "allow_non_2xx": {
      "default": false,
      "description": "Succeed on any status code.",
      "title": "Allow Non 2Xx",
      "type": "boolean"
    },
    "follow_redirects": {
      "default": true,
      "title": "Follow Redirects",
      "type": "boolean"
    },
    "response_format": {
      "default": "auto",
      "description": "`auto` parses JSON when the response says it is JSON.",
      "enum": [
        "auto",
        "json",
        "text"
      ],
      "title": "Response Format",
      "type": "string"
    }
  },
  "required": [
    "url"
  ],
  "title": "HttpConfig",
  "type": "object"
};

/** `condition` config. */
export const conditionConfig: JsonSchema = {
  "$defs": {
    "ConditionRule": {
      "additionalProperties": false,
      "properties": {
        "value": {
          "description": "Usually a template such as `{{ nodes.x.output.plan }}`.",
          "title": "Value"
        },
        "operator": {
          "enum": [
            "eq",
            "ne",
            "gt",
            "gte",
            "lt",
            "lte",
            "contains",
            "not_contains",
            "matches",
            "exists",
            "not_exists"
          ],
          "title": "Operator",
          "type": "string"
        },
        "compare_to": {
          "default": null,
          "title": "Compare To"
        },
        "branch": {
          "maxLength": 64,
          "minLength": 1,
          "pattern": "^[A-Za-z0-9_-]+$",
          "title": "Branch",
          "type": "string"
        }
      },
      "required": [
        "value",
        "operator",
        "branch"
      ],
      "title": "ConditionRule",
      "type": "object"
    }
  },
  "additionalProperties": false,
  "description": "Pick one branch: the first rule that matches, else `default_branch`.",
  "properties": {
    "rules": {
      "items": {
        "$ref": "#/$defs/ConditionRule"
      },
      "minItems": 1,
      "title": "Rules",
      "type": "array"
    },
    "default_branch": {
      "default": "default",
      "pattern": "^[A-Za-z0-9_-]+$",
      "title": "Default Branch",
      "type": "string"
    }
  },
  "required": [
    "rules"
  ],
  "title": "ConditionConfig",
  "type": "object"
};

/** `trigger.webhook` config. */
export const webhookConfig: JsonSchema = {
  "$defs": {
    "WebhookAuth": {
      "additionalProperties": false,
      "description": "How a webhook request proves it is genuine. `header` and `hmac`/`stripe` read the secret\nof the node's `hmac_secret` credential; the credentials service compares, so the gateway\nnever holds it.",
      "properties": {
        "type": {
          "default": "none",
          "enum": [
            "none",
            "header",
            "hmac",
            "stripe"
          ],
          "title": "Type",
          "type": "string"
        },
        "header": {
          "default": "X-Signature",
          "description": "`header`: the header carrying the token; `hmac`: the signature header.",
          "title": "Header",
          "type": "string",
          "x-portico-template": false
        },
        "prefix": {
          "default": "",
          "description": "`hmac`: text before the hex digest in the header, like `sha256=`.",
          "maxLength": 32,
          "title": "Prefix",
          "type": "string",
          "x-portico-template": false
        },
        "tolerance_s": {
          "default": 300,
          "description": "`stripe`: the oldest timestamp accepted.",
          "maximum": 86400,
          "minimum": 1,
          "title": "Tolerance S",
          "type": "integer"
        }
      },
      "title": "WebhookAuth",
      "type": "object"
    }
  },
  "additionalProperties": false,
  "description": "Started by an HTTP request to `/hooks/{path}` (active workflows) or `/hooks/test/{path}`\n(while someone listens for a test event). Its output: method, path, query, headers, body.",
  "properties": {
    "path": {
      "pattern": "^[A-Za-z0-9][A-Za-z0-9_\\-/]{0,199}$",
      "title": "Path",
      "type": "string",
      "x-portico-template": false
    },
    "methods": {
      "items": {
        "enum": [
          "GET",
          "POST",
          "PUT",
          "PATCH",
          "DELETE"
        ],
        "type": "string"
      },
      "minItems": 1,
      "title": "Methods",
      "type": "array"
    },
    "auth": {
      "$ref": "#/$defs/WebhookAuth",
      "x-portico-template": false
    },
    "respond": {
      "default": "ack",
      "description": "`ack`: 202 with the execution id at once; `wait`: the answer of a node.",
      "enum": [
        "ack",
        "wait"
      ],
      "title": "Respond",
      "type": "string"
    },
    "response_node": {
      "anyOf": [
        {
          "type": "string"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "description": "`wait`: whose output is the response body (default: the last to finish).",
      "title": "Response Node",
      "x-portico-template": false
    },
    "response_status": {
      "default": 200,
      "maximum": 599,
      "minimum": 200,
      "title": "Response Status",
      "type": "integer"
    },
    "response_headers": {
      "additionalProperties": {
        "type": "string"
      },
      "title": "Response Headers",
      "type": "object",
      "x-portico-template": false
    },
    "wait_timeout_s": {
      "default": 30.0,
      "description": "`wait`: past this, 202 with the execution id.",
      "exclusiveMinimum": 0,
      "maximum": 300,
      "title": "Wait Timeout S",
      "type": "number"
    },
    "preset": {
      "default": "none",
      "description": "Shape the trigger output like this known sender's events.",
      "enum": [
        "none",
        "stripe",
        "google_forms"
      ],
      "title": "Preset",
      "type": "string"
    }
  },
  "required": [
    "path"
  ],
  "title": "WebhookTriggerConfig",
  "type": "object"
};

/** `discord` config. */
export const discordConfig: JsonSchema = {
  "$defs": {
    "DiscordEmbed": {
      "additionalProperties": true,
      "properties": {
        "title": {
          "anyOf": [
            {
              "maxLength": 256,
              "type": "string"
            },
            {
              "type": "null"
            }
          ],
          "default": null,
          "title": "Title"
        },
        "description": {
          "anyOf": [
            {
              "maxLength": 4096,
              "type": "string"
            },
            {
              "type": "null"
            }
          ],
          "default": null,
          "title": "Description"
        }
      },
      "title": "DiscordEmbed",
      "type": "object"
    }
  },
  "additionalProperties": false,
  "description": "Post a message through a Discord webhook (a `discord_webhook` credential).",
  "properties": {
    "content": {
      "anyOf": [
        {
          "maxLength": 2000,
          "type": "string"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "title": "Content"
    },
    "embeds": {
      "anyOf": [
        {
          "items": {
            "$ref": "#/$defs/DiscordEmbed"
          },
          "maxItems": 10,
          "type": "array"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "title": "Embeds"
    },
    "username": {
      "anyOf": [
        {
          "maxLength": 80,
          "type": "string"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "title": "Username"
    },
    "avatar_url": {
      "anyOf": [
        {
          "maxLength": 2048,
          "type": "string"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "title": "Avatar Url"
    },
    "tts": {
      "default": false,
      "title": "Tts",
      "type": "boolean"
    }
  },
  "title": "DiscordConfig",
  "type": "object"
};

/** `slack` config. */
export const slackConfig: JsonSchema = {
  "additionalProperties": false,
  "description": "Post a message through a Slack incoming webhook (a `slack_webhook` credential).",
  "properties": {
    "text": {
      "description": "Message text (mrkdwn).",
      "maxLength": 40000,
      "minLength": 1,
      "title": "Text",
      "type": "string"
    },
    "blocks": {
      "anyOf": [
        {
          "items": {
            "additionalProperties": true,
            "type": "object"
          },
          "maxItems": 50,
          "type": "array"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "description": "Block Kit blocks; `text` is the fallback.",
      "title": "Blocks"
    },
    "unfurl_links": {
      "anyOf": [
        {
          "type": "boolean"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "title": "Unfurl Links"
    }
  },
  "required": [
    "text"
  ],
  "title": "SlackConfig",
  "type": "object"
};

/** `ai` config. */
export const aiConfig: JsonSchema = {
  "additionalProperties": false,
  "description": "Call a language model. The credential's type must match `provider`.",
  "properties": {
    "provider": {
      "enum": [
        "openai",
        "anthropic",
        "gemini"
      ],
      "title": "Provider",
      "type": "string"
    },
    "model": {
      "description": "For example gpt-4o-mini.",
      "maxLength": 200,
      "minLength": 1,
      "title": "Model",
      "type": "string"
    },
    "system": {
      "anyOf": [
        {
          "maxLength": 100000,
          "type": "string"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "description": "System prompt.",
      "title": "System"
    },
    "prompt": {
      "description": "The user message.",
      "maxLength": 500000,
      "minLength": 1,
      "title": "Prompt",
      "type": "string"
    },
    "temperature": {
      "anyOf": [
        {
          "maximum": 2,
          "minimum": 0,
          "type": "number"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "title": "Temperature"
    },
    "max_tokens": {
      "default": 1024,
      "maximum": 200000,
      "minimum": 1,
      "title": "Max Tokens",
      "type": "integer"
    },
    "json_schema": {
      "anyOf": [
        {
          "additionalProperties": true,
          "type": "object"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "description": "JSON Schema the answer must satisfy; the parsed answer is output `json`.",
      "title": "Json Schema",
      "x-portico-template": false
    },
    "stream": {
      "default": true,
      "description": "Send the text as it grows to live viewers.",
      "title": "Stream",
      "type": "boolean"
    }
  },
  "required": [
    "provider",
    "model",
    "prompt"
  ],
  "title": "AiConfig",
  "type": "object"
};

/** `wait` config. */
export const waitConfig: JsonSchema = {
  "additionalProperties": false,
  "description": "Pause the branch: for `seconds`, or until the ISO-8601 time `until` (a template).",
  "properties": {
    "seconds": {
      "anyOf": [
        {
          "maximum": 2592000,
          "minimum": 0,
          "type": "number"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "title": "Seconds"
    },
    "until": {
      "anyOf": [
        {
          "type": "string"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "title": "Until"
    }
  },
  "title": "WaitConfig",
  "type": "object"
};

/** `openai` credential data. */
export const openaiCredential: JsonSchema = {
  "additionalProperties": false,
  "properties": {
    "api_key": {
      "maxLength": 8192,
      "minLength": 1,
      "title": "Api Key",
      "type": "string",
      "writeOnly": true,
      "format": "password"
    },
    "base_url": {
      "anyOf": [
        {
          "format": "uri",
          "minLength": 1,
          "type": "string"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "description": "Another endpoint speaking the provider's API (a proxy, a local server).",
      "title": "Base Url"
    }
  },
  "required": [
    "api_key"
  ],
  "title": "ModelProviderKey",
  "type": "object"
};

/** `hmac_secret` credential data. */
export const hmacCredential: JsonSchema = {
  "additionalProperties": false,
  "properties": {
    "secret": {
      "maxLength": 8192,
      "minLength": 16,
      "title": "Secret",
      "type": "string",
      "writeOnly": true,
      "format": "password"
    },
    "algorithm": {
      "default": "sha256",
      "enum": [
        "sha256",
        "sha512",
        "sha1"
      ],
      "title": "Algorithm",
      "type": "string"
    }
  },
  "required": [
    "secret"
  ],
  "title": "HmacSecret",
  "type": "object"
};

/** A pydantic discriminated union (`Field(discriminator="kind")`) and an untagged one. */
export const unionConfig: JsonSchema = {
  "$defs": {
    "Basic": {
      "properties": {
        "kind": {
          "const": "basic",
          "title": "Kind",
          "type": "string"
        },
        "username": {
          "title": "Username",
          "type": "string"
        },
        "password": {
          "title": "Password",
          "type": "string",
          "writeOnly": true
        }
      },
      "required": [
        "kind",
        "username",
        "password"
      ],
      "title": "Basic",
      "type": "object"
    },
    "Bearer": {
      "properties": {
        "kind": {
          "const": "bearer",
          "title": "Kind",
          "type": "string"
        },
        "token": {
          "title": "Token",
          "type": "string"
        }
      },
      "required": [
        "kind",
        "token"
      ],
      "title": "Bearer",
      "type": "object"
    }
  },
  "properties": {
    "auth": {
      "discriminator": {
        "mapping": {
          "basic": "#/$defs/Basic",
          "bearer": "#/$defs/Bearer"
        },
        "propertyName": "kind"
      },
      "oneOf": [
        {
          "$ref": "#/$defs/Bearer"
        },
        {
          "$ref": "#/$defs/Basic"
        }
      ],
      "title": "Auth"
    },
    "fallback": {
      "anyOf": [
        {
          "$ref": "#/$defs/Bearer"
        },
        {
          "$ref": "#/$defs/Basic"
        },
        {
          "type": "null"
        }
      ],
      "default": null,
      "title": "Fallback"
    }
  },
  "required": [
    "auth"
  ],
  "title": "AuthHolder",
  "type": "object"
};
