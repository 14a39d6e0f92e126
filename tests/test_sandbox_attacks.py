"""Each class of escape found against the sandbox, tried at every isolation level this host has.

`raw` variants switch the audit hook off: the namespaces, seccomp and (at rlimits) Landlock must
contain the attack on their own; the hook is defence in depth. Also: no silent downgrade.
"""
import logging

import pytest

from model.sandbox import REFUSED, available_levels, isolation, isolation_level, run_python, runner
from model.sandbox import __main__ as cli
from model.sandbox.attacks import ATTACKS, Host, survivors

AVAILABLE = available_levels()


def _layers():
    for audit in (True, False):
        for level in ("bwrap", "unshare", "rlimits"):
            marks = []
            if level not in AVAILABLE:
                marks.append(pytest.mark.skip(reason=f"{level} isolation is not available here"))
            elif level == "rlimits" and not audit and isolation.landlock_abi() == 0:
                marks.append(pytest.mark.skip(reason="no Landlock in this kernel: at rlimits only the hook "
                                                     "guards the filesystem"))
            yield pytest.param(level, audit, marks=marks, id=level + ("" if audit else "-raw"))


@pytest.mark.parametrize(("level", "audit"), list(_layers()))
@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_contained(attack, level, audit, request):
    if attack.hook_only and not audit:
        pytest.skip("only the audit hook stands against it; without it the namespaces contain the crash")
    if level == "rlimits" and not attack.contained_at_rlimits:
        request.applymarker(pytest.mark.xfail(strict=True, reason="documented limitation of the rlimits level "
                                              "(Landlock does not cover file metadata)"))
    with Host() as host:
        result = run_python(attack.code, host.inputs(), timeout_s=attack.timeout_s, isolation=level,
                            audit=audit, allow_weak_isolation=True)
        assert result.isolation == level
        contained = attack.contained(result, host)
        assert host.bystander.poll() is None, "the attack killed a host process"
    assert survivors() == [], "a sandboxed process outlived the call"
    assert contained, f"{attack.name} escaped at {level}: {result.error}\n{result.stdout[-2000:]}"


# ------------------------------------------------------------------------------ no silent downgrade

@pytest.fixture
def fresh_probes():
    """The probes and the downgrade warning start anew, and are forgotten after the test."""
    for cached in (runner._probe, runner._warn_downgrade):
        cached.cache_clear()
    yield
    for cached in (runner._probe, runner._warn_downgrade):
        cached.cache_clear()


def _without_namespaces(monkeypatch):
    real = runner._probe
    monkeypatch.setattr(runner, "_probe", lambda level: "disabled by the test" if level != "rlimits"
                        else real(level))


def test_weak_isolation_is_refused_without_opt_in(fresh_probes, monkeypatch, capsys, tmp_path):
    _without_namespaces(monkeypatch)
    result = run_python("print(1)")
    assert (result.ok, result.isolation, result.stdout) == (False, REFUSED, "")
    assert "allow_weak_isolation=True" in result.error and "--allow-weak-isolation" in result.error
    assert "bwrap: disabled by the test" in result.error
    assert isolation_level() == REFUSED and isolation_level(allow_weak_isolation=True) == "rlimits"
    ran = run_python("print(1)", allow_weak_isolation=True)
    assert ran.ok and ran.isolation == "rlimits"

    code = tmp_path / "c.py"
    code.write_text("print(1)")
    assert cli.main(["--code-file", str(code)]) == 3
    assert "allow_weak_isolation" in capsys.readouterr().err
    assert cli.main(["--code-file", str(code), "--allow-weak-isolation"]) == 0
    assert '"isolation": "rlimits"' in capsys.readouterr().out


@pytest.mark.skipif("rlimits" not in AVAILABLE, reason="rlimits isolation is not available here")
def test_forcing_rlimits_needs_the_opt_in_too(monkeypatch):
    monkeypatch.setenv(runner.ENV_VAR, "rlimits")
    assert run_python("print(1)").isolation == REFUSED
    assert run_python("print(1)", isolation="rlimits").error.startswith("sandbox refused")
    assert run_python("print(1)", allow_weak_isolation=True).isolation == "rlimits"


def test_unavailable_level_is_a_result_not_an_exception(fresh_probes, monkeypatch):
    monkeypatch.setattr(runner.shutil, "which", lambda name: None)
    result = run_python("print(1)", isolation="bwrap")
    assert not result.ok and result.isolation == REFUSED and "`bwrap` is not on PATH" in result.error


@pytest.mark.skipif(AVAILABLE[:1] != ("bwrap",) or "unshare" not in AVAILABLE, reason="needs bwrap and unshare")
def test_falling_back_to_unshare_is_logged(fresh_probes, monkeypatch, caplog):
    real = runner._probe
    monkeypatch.setattr(runner, "_probe", lambda level: "disabled by the test" if level == "bwrap" else real(level))
    with caplog.at_level(logging.WARNING, logger=runner.__name__):
        assert run_python("print(1)").isolation == "unshare"
    assert "bwrap does not work here (disabled by the test)" in caplog.text
