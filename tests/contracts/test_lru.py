from portico_contracts.lru import BoundedLru


def test_the_least_recently_used_goes_first() -> None:
    lru: BoundedLru[str, int] = BoundedLru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # now the most recently used
    assert lru.put("c", 3) == 3
    assert len(lru) == 2
    assert lru.get("b") is None
    assert (lru.get("a"), lru.get("c")) == (1, 3)


def test_a_put_of_a_known_key_replaces_it_and_keeps_the_bound() -> None:
    lru: BoundedLru[str, int] = BoundedLru(1)
    lru.put("a", 1)
    lru.put("a", 2)
    assert (len(lru), lru.get("a")) == (1, 2)
