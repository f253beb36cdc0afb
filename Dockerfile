# One image for every Portico service; the compose file picks the service by command.

# The editor: built here (npm ci, then the build also checks the types against the committed
# web/openapi.json), and only its static files go into the image below.
FROM node:20-slim AS editor
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
COPY src ./src
RUN uv sync --frozen --no-dev
COPY --from=editor /web/dist /app/web
# The gateway serves the editor at /; the other services ignore this.
ENV PATH="/app/.venv/bin:$PATH" PORTICO_WEB_DIR=/app/web
EXPOSE 8000
CMD ["portico", "gateway"]
