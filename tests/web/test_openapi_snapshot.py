from tests.web.openapi_snapshot import SNAPSHOT, current_document


def test_the_editors_copy_of_the_api_document_is_current() -> None:
    assert SNAPSHOT.read_text() == current_document(), (
        "web/openapi.json is stale: run `.venv/bin/python -m tests.web.openapi_snapshot`, "
        "then `npm run build` in web/ to regenerate the editor's API types"
    )
