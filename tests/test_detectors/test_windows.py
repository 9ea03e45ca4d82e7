from detectors.windows import find_window, insert, prune


def log_of(*entries):
    log = []
    for entry in entries:
        insert(log, list(entry))
    return log


def test_insert_keeps_time_order():
    log = log_of((3, "c", "x"), (1, "a", "x"), (2, "b", "y"))
    assert [e[1] for e in log] == ["a", "b", "c"]


def test_prune_drops_only_older_entries():
    log = log_of((1, "a", "x"), (5, "b", "x"), (9, "c", "x"))
    assert [e[1] for e in prune(log, 5)] == ["b", "c"]


def test_find_window_needs_distinct_values_inside_one_width():
    log = log_of((0, "a", "x"), (5, "b", "y"), (11, "c", "z"))
    assert find_window(log, 11, 10, 3) is None
    assert [e[1] for e in find_window(log, 11, 11, 3)] == ["a", "b", "c"]


def test_find_window_considers_windows_after_a_late_event():
    log = log_of((0, "late", "x"), (8, "b", "y"), (9, "c", "z"))
    window = find_window(log, 0, 10, 3)
    assert [e[1] for e in window] == ["late", "b", "c"]


def test_insert_and_prune_match_a_sorted_reference_for_any_arrival_order():
    """The in-order fast paths (append, nothing to drop) give exactly what a stable sort and a
    filter give, ties included: a later arrival of the same time goes after the earlier ones."""
    import random

    rng = random.Random(14)
    for _ in range(200):
        log, reference = [], []
        for n in range(rng.randint(1, 40)):
            entry = [float(rng.choice([rng.randint(0, 30), n])), f"u{n}", "x"]
            insert(log, entry)
            reference = sorted([*reference, entry], key=lambda e: e[0])
            assert log == reference
            horizon = float(rng.randint(-5, 35))
            kept = prune(log, horizon)
            assert kept == [e for e in reference if e[0] >= horizon]
            if kept == log:
                assert kept is log  # nothing dropped: the same list, no copy
