"""testing/support.py imports load_dynamic at module level (for the API-mode tests)."""

import importlib.util


def load_dynamic(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
