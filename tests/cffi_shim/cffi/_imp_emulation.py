"""testing/support.py imports load_dynamic at module level (for the API-mode tests): load
the extension module at `path` under `name`, registered in sys.modules as an import
would."""

import importlib.util
import sys
from importlib.machinery import ExtensionFileLoader


def load_dynamic(name, path):
    loader = ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
