"""An engine process has only the standard library: importing the engine side must not need avro."""

import os
import subprocess
import sys

PYTHON_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

BLOCK_AVRO = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "avro" or name.startswith("avro.") or name.startswith("confluent_kafka"):
            raise ImportError("blocked for this test: " + name)
sys.meta_path.insert(0, Block())
"""


def run_without_avro(code):
    return subprocess.run([sys.executable, "-c", BLOCK_AVRO + code], cwd=PYTHON_DIR, capture_output=True,
                          text=True, timeout=60)


def test_the_engine_side_imports_without_avro_or_kafka():
    done = run_without_avro("import weightpub.engine as e; print(e.EngineClient.__name__)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "EngineClient"


def test_the_publisher_is_still_reachable_from_the_package_root():
    import weightpub

    assert weightpub.Publisher.__name__ == "Publisher"
    assert "Publisher" in weightpub.__all__


def test_an_unknown_name_is_an_attribute_error():
    import weightpub

    try:
        weightpub.NoSuchThing
    except AttributeError as e:
        assert "NoSuchThing" in str(e)
    else:
        raise AssertionError("expected AttributeError")
