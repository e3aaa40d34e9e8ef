"""Stable group ids, hiding for good, and the "Who's this?" queue, on a generated album of package photos
indexed with the tiny real-format models (core and CLI)."""

from __future__ import annotations

import json
import tomllib
from contextlib import closing
from pathlib import Path

import pytest
import tomli_w

from rap_desktop.cli import main
from rap_desktop.core import corrections, groups, hiding, review
from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.errors import NotFoundError
from rap_desktop.core.session import Session
from rap_desktop.core.store import groups as groups_table
from rap_desktop.core.store import hidden as hidden_table
from rap_desktop.core.thumbcache import for_home
from rap_desktop.devtools.synthetic_album import make_album

LOOSE = {"threshold": 0.5, "min_size": 2}  # random tiny weights: all crops look alike


@pytest.fixture(scope="module")
def album(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("review") / "album"
    make_album(folder, 12, seed=1, max_side=160)
    return folder


def _index(session: Session, album: Path) -> None:
    Indexer(session.retriever(), for_home(session.home)).index([album])


def _boxes(store, region_ids) -> set[tuple]:
    """(photo sha256, box) of regions: what survives a re-detection."""
    marks = ",".join("?" * len(region_ids))
    rows = store.conn.execute(
        f"SELECT p.sha256, r.x1, r.y1, r.x2, r.y2 FROM regions r JOIN photos p ON p.id = r.photo_id "
        f"WHERE r.id IN ({marks})",
        list(region_ids),
    )
    return {(row[0], *(round(v, 3) for v in row[1:])) for row in rows}


def test_stable_ids_follow_the_overlap_and_never_reuse_an_id() -> None:
    previous = {4: [1, 2, 3, 4], 7: [10, 11, 12]}
    # group 4 lost a region, 7 is gone (named), a new one appears: it gets a fresh id, not 7 again
    assert groups.stable_ids(previous, [(1, 2, 3), (20, 21)], fresh=9) == [4, 9]
    # one to one: two new groups taking halves of 4 -> the larger share keeps 4
    assert groups.stable_ids(previous, [(1, 30), (2, 3, 4)], fresh=9) == [9, 4]


def test_groups_keep_their_ids_when_another_is_named(session: Session, album: Path) -> None:
    _index(session, album)
    store, model = session.store(), session.embedder.model_id
    first = groups.find_groups(store, model, LOOSE["threshold"], LOOSE["min_size"])
    assert len(first) >= 3
    named, rest = first[1], [first[0], *first[2:]]
    groups.name_group(store, named.id, "gang")
    # the listing still names exactly what was shown: the next group is named without listing again
    last = rest.pop()
    assert groups.name_group(store, last.id, "crew").confirmed == last.size
    crew = store.get_concept("crew").id
    confirmed = {r for (r,) in store.conn.execute("SELECT region_id FROM matches WHERE concept_id = ?", (crew,))}
    assert set(last.regions) <= confirmed
    with pytest.raises(NotFoundError):  # a named group is no longer listed
        groups.name_group(store, named.id, "again")

    later = groups.find_groups(store, model, LOOSE["threshold"], LOOSE["min_size"])
    by_id = {g.id: g for g in later}
    assert not {named.id, last.id} & set(by_id)  # no id of a named group comes back for another
    for before in rest:  # a group found again keeps its id
        overlapping = [g for g in later if 2 * len(set(g.regions) & set(before.regions)) >= min(g.size, before.size)]
        if overlapping:
            assert before.id in {g.id for g in overlapping}
    assert rest[0].id in by_id and set(by_id[rest[0].id].regions) & set(rest[0].regions)


def _config(tiny_config: Path, embedder: str) -> Path:
    """The tiny models under a second embedder name (same weights): re-indexing detects every photo again."""
    data = tomllib.loads(tiny_config.read_text())
    custom = data["models"]["custom"]
    custom[embedder] = dict(custom[data["models"]["embedder"]])
    data["models"]["embedder"] = embedder
    path = tiny_config.parent / f"config-{embedder}.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


def test_a_hidden_group_never_comes_back_not_even_after_a_reindex(home: Path, tiny_config: Path, album: Path) -> None:
    with closing(Session.open(home, tiny_config)) as first_session:
        _index(first_session, album)
        store, model = first_session.store(), first_session.embedder.model_id
        found = groups.find_groups(store, model, LOOSE["threshold"], LOOSE["min_size"])
        stranger = found[0]
        hidden = hiding.hide_group(store, stranger.id)
        assert hidden.regions == stranger.size
        boxes = _boxes(store, stranger.regions)
        later = groups.find_groups(store, model, LOOSE["threshold"], LOOSE["min_size"])
        assert not set(stranger.regions) & {r for g in later for r in g.regions}
        settings = review.Settings(1.0, LOOSE["threshold"], LOOSE["min_size"])
        asked = review.queue(store, model, settings, limit=100)
        assert not set(stranger.regions) & {r for q in asked for r in q.regions}
        old_ids = {r for (r,) in store.conn.execute("SELECT id FROM regions")}

    # the same photos detected again under another embedder: every region id changes, the decision holds
    with closing(Session.open(home, _config(tiny_config, "tiny-clip-again"))) as again:
        _index(again, album)
        store, model = again.store(), again.embedder.model_id
        new_ids = {r for (r,) in store.conn.execute("SELECT id FROM regions WHERE model = ?", (model,))}
        assert new_ids and not new_ids & old_ids
        regrouped = groups.find_groups(store, model, LOOSE["threshold"], LOOSE["min_size"])
        offered = {r for g in regrouped for r in g.regions}
        assert not _boxes(store, offered) & boxes
        # the tiny random model finds every crop alike, so the stranger's look-alikes may take all the rest:
        # the regions left to group before look-alikes are weighed hold no hidden box either
        candidates = [row[0] for row in groups_table.unmatched_regions(store, model, False, 10_000)]
        assert candidates and not _boxes(store, candidates) & boxes
        covered = hidden_table.hidden_region_ids(store, list(new_ids))
        assert _boxes(store, covered) >= boxes  # the very boxes were found again, and are hidden

        # `match undo` takes the hide back: the stranger's regions are offered again
        assert corrections.undo(store).action == "hide"
        regrouped = groups.find_groups(store, model, LOOSE["threshold"], LOOSE["min_size"])
        offered = {r for g in regrouped for r in g.regions}
        assert _boxes(store, offered) & boxes
        assert not hidden_table.hidden_region_ids(store, list(new_ids))


@pytest.fixture
def cli(home: Path, tiny_config: Path, capsys):
    def run(*args: str) -> tuple[int, object, str]:
        code = main(["--home", str(home), "--config", str(tiny_config), *args])
        out, err = capsys.readouterr()
        return code, (json.loads(out) if "--json" in args and code == 0 else out), err

    return run


LOOSE_ARGS = ("--threshold", "0.5", "--min-size", "2")


def test_review_groups_from_the_command_line(cli, album: Path, home: Path) -> None:
    assert cli("index", str(album))[0] == 0
    _, listed, _ = cli("groups", "list", "--json", *LOOSE_ARGS)
    sizes = [g["size"] for g in listed["groups"]]
    code, doc, _ = cli("review", "next", "--json", *LOOSE_ARGS)
    asked = doc["question"]
    # the largest unknown group first, one question, with the regions' boxes and photo paths
    assert code == 0 and asked["kind"] == "group" and asked["size"] == max(sizes)
    assert asked["id"] == f"g{listed['groups'][0]['id']}" and asked["question"] == "Who is this?"
    assert 1 <= len(asked["examples"]) <= 6 and all(Path(e["path"]).is_file() for e in asked["examples"])
    assert all(len(e["box"]) == 4 for e in asked["examples"])

    # skip: the next question is another one, until asked again
    assert cli("review", "answer", asked["id"], "skip", *LOOSE_ARGS)[0] == 0
    _, second, _ = cli("review", "next", "--json", *LOOSE_ARGS)
    assert second["question"]["id"] != asked["id"] and second["skipped"] == 1
    _, again, _ = cli("review", "next", "--again", "--json", *LOOSE_ARGS)
    assert again["question"]["id"] == asked["id"] and again["skipped"] == 0

    # hide: never offered again, in the groups or the queue; `match undo` takes it back
    code, hid, _ = cli("review", "answer", asked["id"], "hide", "--json", *LOOSE_ARGS)
    assert code == 0 and hid["answer"] == "hide" and hid["correction"]
    _, after, _ = cli("groups", "list", "--json", *LOOSE_ARGS)
    hidden_regions = set(asked["regions"])
    assert not hidden_regions & {r for g in after["groups"] for r in g["regions"]}
    _, hidden_list, _ = cli("groups", "hidden", "--json")
    assert hidden_list["hidden"][0]["regions"] == asked["size"]
    assert cli("match", "undo")[0] == 0
    _, back, _ = cli("groups", "list", "--json", *LOOSE_ARGS)
    assert hidden_regions <= {r for g in back["groups"] for r in g["regions"]}

    # It's NAME: a new concept, every member confirmed; the next question about a look-alike suggests it
    _, doc, _ = cli("review", "next", "--json", *LOOSE_ARGS)
    group = doc["question"]
    code, named, _ = cli("review", "answer", group["id"], "Gang", "--json", *LOOSE_ARGS)
    assert code == 0 and named["answer"] == "name" and named["concept"] == "Gang"
    _, concepts, _ = cli("concept", "list", "--json")
    assert "Gang" in [c["name"] for c in concepts["concepts"]]
    _, doc, _ = cli("review", "next", "--json", *LOOSE_ARGS)
    assert doc["question"]["id"] != group["id"]
    assert cli("match", "undo")[0] == 0
    _, concepts, _ = cli("concept", "list", "--json")
    assert "Gang" not in [c["name"] for c in concepts["concepts"]]


def test_groups_hide_and_unhide(cli, album: Path) -> None:
    assert cli("index", str(album))[0] == 0
    _, listed, _ = cli("groups", "list", "--json", *LOOSE_ARGS)
    first, second = listed["groups"][0], listed["groups"][1]
    code, hid, _ = cli("groups", "hide", str(first["id"]), "--json")
    assert code == 0 and hid["hidden"] == first["size"]
    # the other group is still listed under its id: it can be named without listing again
    code, named, _ = cli("groups", "name", str(second["id"]), "crew", "--json")
    assert code == 0 and named["confirmed"] == second["size"]
    _, after, _ = cli("groups", "list", "--json", *LOOSE_ARGS)
    assert not set(first["regions"]) & {r for g in after["groups"] for r in g["regions"]}
    assert cli("match", "undo")[0] == 0  # the naming (random weights: <crew> claims nearly everything)
    code, shown, _ = cli("groups", "unhide", str(first["id"]), "--json")
    assert code == 0 and shown["shown"] == first["size"]
    _, back, _ = cli("groups", "list", "--json", *LOOSE_ARGS)
    assert set(first["regions"]) <= {r for g in back["groups"] for r in g["regions"]}
    code, _, err = cli("groups", "unhide", str(first["id"]))
    assert code == 2 and f"no hidden group {first['id']}" in err
    code, _, err = cli("groups", "hide", "9999")
    assert code == 2 and "no group 9999" in err


def test_uncertain_matches_are_asked_and_answered(cli, album: Path, home: Path, tiny_config: Path) -> None:
    assert cli("index", str(album))[0] == 0
    photos = sorted(album.rglob("*.jpg"))
    assert cli("concept", "add", "bo", str(photos[0]), "--category", "cat")[0] == 0
    assert cli("concept", "add", "mochi", str(photos[1]), "--category", "dog")[0] == 0
    no_groups = ("--min-size", "50")  # no group that large: only the matches are asked about
    with closing(Session.open(home, tiny_config)) as opened:
        threshold, _ = opened.retrieval_settings()
        rows = review.review_table.uncertain_matches(
            opened.store(), opened.embedder.model_id, threshold, review.MARGIN, review.CLOSE, 100
        )
    assert rows  # random tiny weights: every concept comes close to every region
    code, doc, _ = cli("review", "next", "--json", *no_groups)
    asked = doc["question"]
    assert code == 0 and asked["kind"] == "match" and asked["id"] == f"m{rows[0][0]}"
    assert asked["suggested"] in ("bo", "mochi") and asked["question"] == f"Is this {asked['suggested']}?"
    region = asked["regions"][0]

    def status() -> set[tuple]:
        with closing(Session.open(home, tiny_config)) as opened:
            return set(
                opened.store().conn.execute(
                    "SELECT c.name, m.status FROM matches m JOIN concepts c ON c.id = m.concept_id "
                    "WHERE m.region_id = ? AND m.status != 'auto'",
                    (region,),
                )
            )

    assert cli("review", "answer", asked["id"], "yes", *no_groups)[0] == 0
    assert status() == {(asked["suggested"], "confirmed")}
    _, doc, _ = cli("review", "next", "--json", *no_groups)
    assert doc["question"] is None or doc["question"]["id"] != asked["id"]  # settled: not asked again
    assert cli("match", "undo")[0] == 0 and status() == set()
    assert cli("review", "answer", asked["id"], "no", *no_groups)[0] == 0
    assert status() == {(asked["suggested"], "rejected")}
    assert cli("match", "undo")[0] == 0
    code, doc, _ = cli("review", "answer", asked["id"], "rex", "--json", *no_groups)
    assert code == 0 and doc["concept"] == "rex" and ("rex", "confirmed") in status()
    assert cli("match", "undo")[0] == 0 and status() == set()
    code, doc, _ = cli("review", "answer", asked["id"], "hide", "--json", *no_groups)
    assert code == 0 and status() == {(asked["suggested"], "rejected")}
    _, doc, _ = cli("review", "next", "--json", *no_groups)
    assert doc["question"] is None or region not in doc["question"]["regions"]
    assert cli("match", "undo")[0] == 0 and status() == set()


def test_bad_review_input_exits_2(cli, album: Path) -> None:
    assert cli("index", str(album))[0] == 0
    for args, words in (
        (("review", "answer", "x1", "yes"), "not a question id"),
        (("review", "answer", "g9999", "yes"), "no group 9999"),
        (("review", "answer", "m9999999", "yes"), "no match left"),
        (("review", "next", "--min-size", "1"), "--min-size"),
    ):
        code, _, err = cli(*args)
        assert code == 2 and words in err and err.count("\n") == 1, (args, err)
    _, doc, _ = cli("review", "next", "--json", *LOOSE_ARGS)
    code, _, err = cli("review", "answer", doc["question"]["id"], "yes", *LOOSE_ARGS)
    assert code == 2 and "no name was suggested" in err
