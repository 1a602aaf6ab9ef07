"""The course autograder's imports (``sys.path.append('mytorch'); import activation, ...``).

The autograder runs ``python3 autograder/hw1_autograder/runner.py`` from the repository
root: the script's own folder is on ``sys.path``, the repository root is not, MyTorch is
not installed, and the tests reach the course files only through
``sys.path.append('mytorch')`` / ``sys.path.append('hw1')``. Each test here writes such
a script into a temporary ``autograder/hw1_autograder/`` and runs it in a fresh
interpreter whose current directory is the repository.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

# What the autograder's tests do, word for word where it matters, plus checks that every
# name reaches the one implementation in the package.
COURSE_SCRIPT = """
import importlib.util
import json
import os
import sys

import numpy as np

installed = importlib.util.find_spec("mytorch") is not None

sys.path.append("mytorch")
import activation, loss, linear, batchnorm  # noqa: E401,E402
sys.path.append("hw1")
import hw1, mc  # noqa: E401,E402

package = sys.modules["mytorch"]
for name, module in [("activation", activation), ("loss", loss), ("linear", linear),
                     ("batchnorm", batchnorm)]:
    assert module is sys.modules["mytorch." + name], name
assert activation.Sigmoid is sys.modules["mytorch.activation"].Sigmoid
assert hw1.Linear is linear.Linear and hw1.BatchNorm is batchnorm.BatchNorm

np.random.seed(11785)
mlp = hw1.MLP(784, 10, [64, 32], [activation.Sigmoid(), activation.Sigmoid(),
              activation.Identity()], lambda i, o: np.random.randn(i, o),
              lambda o: np.zeros((1, o)), loss.SoftmaxCrossEntropy(), 0.008,
              momentum=0.856, num_bn_layers=1)
assert isinstance(mlp.linear_layers[0], linear.Linear)
assert isinstance(mlp.bn_layers[0], batchnorm.BatchNorm)
x = np.random.randn(20, 784)
y = np.eye(10)[np.random.randint(0, 10, size=20)]
mlp.zero_grads()
mlp.forward(x)
mlp.backward(y)
mlp.step()
print(json.dumps({
    "installed_before_course_imports": installed,
    "package_dir": os.path.dirname(os.path.abspath(package.__file__)),
    "loss": mlp.loss.tolist(),
    "W0": mlp.linear_layers[0].W[:3, :3].tolist(),
    "gamma": mlp.bn_layers[0].gamma[0, :3].tolist(),
    "mc": [mc.question_1(), mc.question_2(), mc.question_3(), mc.question_4(),
           mc.question_5()],
}))
"""


def _run_course_script(
    repo: Path, scripts: Path, command_prefix: list[str], env: dict[str, str]
) -> dict:
    """Run the script from ``scripts/autograder/hw1_autograder/`` with cwd ``repo``: its
    own folder is on sys.path, the repository root is not (as for the autograder)."""
    script = scripts / "autograder" / "hw1_autograder" / "runner_imports.py"
    script.parent.mkdir(parents=True)
    script.write_text(COURSE_SCRIPT)
    result = subprocess.run(
        [*command_prefix, str(script)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _expected_in_process() -> dict:
    """The same run through the package's own names, in this process."""
    from mytorch.activation import Identity, Sigmoid
    from mytorch.loss import SoftmaxCrossEntropy

    spec = importlib.util.spec_from_file_location("_course_hw1", ROOT / "hw1" / "hw1.py")
    hw1 = importlib.util.module_from_spec(spec)  # not `import hw1`: see test_course_api.py
    spec.loader.exec_module(hw1)

    np.random.seed(11785)  # noqa: NPY002 - the handout seeds the global generator
    mlp = hw1.MLP(
        784,
        10,
        [64, 32],
        [Sigmoid(), Sigmoid(), Identity()],
        lambda i, o: np.random.randn(i, o),  # noqa: NPY002
        lambda o: np.zeros((1, o)),
        SoftmaxCrossEntropy(),
        0.008,
        momentum=0.856,
        num_bn_layers=1,
    )
    x = np.random.randn(20, 784)  # noqa: NPY002
    y = np.eye(10)[np.random.randint(0, 10, size=20)]  # noqa: NPY002
    mlp.zero_grads()
    mlp.forward(x)
    mlp.backward(y)
    mlp.step()
    return {
        "loss": mlp.loss,
        "W0": mlp.linear_layers[0].W[:3, :3],
        "gamma": mlp.bn_layers[0].gamma[0, :3],
    }


@pytest.fixture(scope="module")
def expected() -> dict:
    return _expected_in_process()


def _check_same_run(report: dict, expected: dict) -> None:
    for key in ("loss", "W0", "gamma"):
        np.testing.assert_allclose(report[key], expected[key], rtol=1e-12, atol=0, err_msg=key)
    assert all(len(a) == 1 and a.islower() for a in report["mc"])


def test_course_imports_from_the_repository_root_reach_the_package(tmp_path, expected):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    report = _run_course_script(ROOT, tmp_path, [sys.executable], env)
    assert Path(report["package_dir"]) == ROOT / "mytorch"
    _check_same_run(report, expected)


def test_course_imports_work_from_a_copy_where_mytorch_is_not_installed(tmp_path, expected):
    """A copy of mytorch/ and hw1/ only, and an interpreter that cannot see the
    installed MyTorch: ``-S`` skips site-packages and their ``.pth`` files (the editable
    install is such a file), and PYTHONPATH hands it the folder that holds NumPy, whose
    ``.pth`` files are not read. The script checks ``find_spec('mytorch') is None``
    before the course imports, so passing proves that nothing installed is used."""
    repo = tmp_path / "student-repo"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "mytorch", repo / "mytorch", ignore=ignore)
    shutil.copytree(ROOT / "hw1", repo / "hw1", ignore=ignore)
    numpy_home = str(Path(np.__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = numpy_home
    report = _run_course_script(repo, tmp_path, [sys.executable, "-S", "-s"], env)
    assert report["installed_before_course_imports"] is False
    assert Path(report["package_dir"]) == repo / "mytorch"
    _check_same_run(report, expected)
