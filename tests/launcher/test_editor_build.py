"""`portico up` hands the gateway the built editor (web/dist) when there is one."""

from __future__ import annotations

from pathlib import Path

from portico.editor import (
    BUILD_HINT,
    SOURCE_CHECKOUT,
    WEB_DIR_VARIABLE,
    editor_environment,
    find_editor_build,
    repository_candidates,
)


def _checkout(root: Path, *, built: bool) -> Path:
    (root / "web").mkdir(parents=True)
    if built:
        (root / "web" / "dist").mkdir()
        (root / "web" / "dist" / "index.html").write_text("<title>Portico</title>")
    return root


def test_the_package_checkout_comes_before_the_working_directory(tmp_path: Path) -> None:
    assert (SOURCE_CHECKOUT / "src" / "portico" / "editor.py").is_file()
    assert repository_candidates(tmp_path) == [SOURCE_CHECKOUT, tmp_path.resolve()]
    assert repository_candidates(SOURCE_CHECKOUT) == [SOURCE_CHECKOUT]


def test_a_built_editor_is_handed_to_the_gateway(tmp_path: Path) -> None:
    unbuilt = _checkout(tmp_path / "unbuilt", built=False)
    built = _checkout(tmp_path / "built", built=True)

    added, note = editor_environment(None, [unbuilt, built])

    assert added == {WEB_DIR_VARIABLE: str(built / "web" / "dist")}
    assert note is not None
    assert str(built / "web" / "dist") in note


def test_without_a_build_only_a_hint_is_given(tmp_path: Path) -> None:
    half_built = _checkout(tmp_path / "half", built=False)
    (half_built / "web" / "dist").mkdir()  # an interrupted build: no index.html yet

    added, note = editor_environment(None, [half_built, tmp_path / "elsewhere"])

    assert added == {}
    assert note == BUILD_HINT
    assert "./dev up" in BUILD_HINT
    assert len(BUILD_HINT.splitlines()) == 1


def test_a_configured_web_dir_is_left_alone(tmp_path: Path) -> None:
    built = _checkout(tmp_path / "built", built=True)
    assert editor_environment(tmp_path / "mine", [built]) == ({}, None)
    assert find_editor_build([built]) == built / "web" / "dist"
