from indextts_core.registry import installed


def test_installed_needs_every_module_to_import():
    assert installed("json", "numpy")
    assert not installed("json", "no_such_module_for_indextts")
