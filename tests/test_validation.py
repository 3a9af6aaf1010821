"""Every parameter of every config is checked before anything is written: generated bad values
through the config, the command line and ``./run_all.sh --set``, and good values still pass."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from genlab import ConfigError, GANConfig, VAEConfig, cli
from genlab.config import value_type
from genlab.course.planning import plan

CONFIGS = (VAEConfig, GANConfig)
FIELDS = [(cls, name, info) for cls in CONFIGS for name, info in cls.model_fields.items()]


def bounds(info) -> dict:
    """A field's bounds, as pydantic keeps them (annotated_types' Ge, Gt, Le and Lt)."""
    return {
        k: next((getattr(m, k) for m in info.metadata if hasattr(m, k)), None)
        for k in ("ge", "gt", "le", "lt")
    }


def invalid_values(info) -> st.SearchStrategy:
    """Values no check of the field accepts."""
    (kind, choices), meta = value_type(info), bounds(info)
    wrong_type = st.one_of(st.text(max_size=5), st.lists(st.integers(), max_size=2))
    if kind is bool:
        return st.one_of(wrong_type, st.integers(0, 5), st.floats(allow_nan=True))
    if choices:
        return st.one_of(st.integers(), st.text(max_size=8).filter(lambda v: v not in choices))
    if kind is str:
        return st.one_of(st.integers(), st.booleans())
    bad = [wrong_type, st.booleans()]
    low = meta["ge"] if meta["ge"] is not None else meta["gt"]
    high = meta["le"] if meta["le"] is not None else meta["lt"]
    if kind is int:
        if low is not None:
            bad.append(st.integers(max_value=math.ceil(low) - 1))
        if high is not None:
            bad.append(st.integers(min_value=math.floor(high) + 1))
    else:
        if low is not None:  # below a ge, or at or below a gt
            bad.append(st.floats(max_value=low, exclude_max=meta["gt"] is None, allow_nan=False))
        if high is not None:  # above a le, or at or above an lt
            bad.append(st.floats(min_value=high, exclude_min=meta["lt"] is None, allow_nan=False))
    if kind is float:
        bad.append(st.sampled_from([math.nan, math.inf, -math.inf]))
    else:
        bad.append(
            st.floats(allow_nan=False).filter(lambda v: v != int(v) if math.isfinite(v) else True)
        )
    return st.one_of(bad)


@st.composite
def bad_parameter(draw):
    cls, name, info = draw(st.sampled_from(FIELDS))
    value = draw(invalid_values(info))
    if value_type(info)[0] is int and isinstance(value, float) and value.is_integer():
        value += 0.5  # an integral float would still be rejected, but say so plainly
    return cls, name, value


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad_parameter())
def test_a_generated_bad_value_is_refused_with_its_name(case):
    cls, name, value = case
    with pytest.raises(ConfigError, match=rf"parameter {name}="):
        cls(**{name: value})


@st.composite
def bad_config(draw):
    """A config of one model with one to three bad values (``invalid_values``), as flags:
    on a command line every value is text, so a text that reads as a good value is skipped."""
    cls = draw(st.sampled_from(CONFIGS))
    names = draw(
        st.lists(st.sampled_from(list(cls.model_fields)), min_size=1, max_size=3, unique=True)
    )
    argv = []
    for name in names:
        info = cls.model_fields[name]
        value = draw(invalid_values(info).filter(lambda v: not isinstance(v, list)))
        assume(not isinstance(value, str) or value_type(info)[0] is str)
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            argv.append(flag if value else f"--no-{name.replace('_', '-')}")
        else:
            argv.append(f"{flag}={value}")
    return cls.model, names, argv


# 250 whole bad configs through the command line: each refused with exit 2, in one line naming
# a bad parameter (argparse: its usage and one error line), never a traceback, never a hang
@settings(
    max_examples=250,
    deadline=timedelta(seconds=60),
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # capsys: read out each time
)
@given(bad_config())
def test_the_command_line_exits_2_and_writes_nothing(tmp_path_factory, capsys, case):
    model, names, argv = case
    run_dir = tmp_path_factory.mktemp("cli") / "run"
    with _returns(2) as code:
        code.value = cli.main([model, *argv, "--run-dir", str(run_dir)])
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1].count("error") == 1, err
    assert any(name in err or name.replace("_", "-") in err for name in names), err
    assert not run_dir.exists()


class _returns:
    """A context for a call that either returns ``expected`` or exits with it (argparse)."""

    def __init__(self, expected: int):
        self.expected, self.value = expected, None

    def __enter__(self):
        return self

    def __exit__(self, kind, error, _):
        if kind is SystemExit:
            assert error.code == self.expected
            return True
        assert self.value == self.expected
        return False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad_parameter().filter(lambda c: c[0] is GANConfig))
def test_run_all_set_refuses_before_anything_is_written(tmp_path_factory, case):
    _, name, value = case
    out = tmp_path_factory.mktemp("set") / "results"
    with pytest.raises(ConfigError, match=rf"parameter {name}="):
        plan(out, ["5.3"], sets={"": {name: value}})
    assert not out.exists()


@settings(max_examples=60, deadline=None)
@given(
    lr=st.floats(min_value=1e-8, max_value=10.0),
    beta1=st.floats(0.0, 0.999),
    dropout=st.floats(0.0, 0.99),
    seed=st.integers(0, 2**32 - 10_001),
)
def test_good_values_still_pass(lr, beta1, dropout, seed):
    config = GANConfig(lr_g=lr, lr_d=lr, beta1=beta1, d_dropout=dropout, seed=seed)
    assert config.lr_g == lr and config.seed == seed
    assert plan(Path("/nonexistent"), ["5.3"], sets={"": {"lr_g": lr, "beta1": beta1}})


def misspellings(name: str) -> st.SearchStrategy:
    """``name`` with one character dropped, doubled or swapped with the next, or an
    underscore removed: the slips of a hand typing a parameters cell."""
    i = st.integers(0, len(name) - 1)
    return st.one_of(
        i.map(lambda k: name[:k] + name[k + 1 :]),
        i.map(lambda k: name[:k] + name[k] + name[k:]),
        i.filter(lambda k: k < len(name) - 1).map(
            lambda k: name[:k] + name[k + 1] + name[k] + name[k + 2 :]
        ),
        st.just(name.replace("_", "")),
    )


@st.composite
def misspelt_parameter(draw):
    cls, name = draw(st.sampled_from([(c, n) for c, n, _ in FIELDS if len(n) >= 4]))
    wrong = draw(misspellings(name))
    assume(wrong not in cls.model_fields and not wrong.startswith("_"))
    return cls, name, wrong


@settings(max_examples=150, deadline=None)
@given(misspelt_parameter())
def test_a_misspelt_notebook_parameter_is_refused_with_what_was_meant(case):
    """``batchsize = 64`` in a parameters cell: refused, never dropped for the default."""
    cls, name, wrong = case
    value = getattr(cls(), name)
    with pytest.raises(ConfigError, match=rf"{wrong}: did you mean '"):
        cls.from_values({wrong: value})
    with pytest.raises(ConfigError, match=rf"unknown {cls.model} parameter\(s\) {wrong}; "):
        cls.from_values({"overrides": {wrong: value}})


@pytest.mark.parametrize("argv", [["vae", "--batchsize", "64"], ["gan", "--lrg", "0.001"]])
def test_a_misspelt_flag_is_refused_and_writes_nothing(tmp_path, argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--run-dir", str(tmp_path / "run")])
    assert exit_.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


# values that passed the per-field checks and then failed or never ended after files were written
@pytest.mark.parametrize(
    "argv, words",
    [
        (["vae", "--batch-size", "9223372036854775808"], "batch_size=9223372036854775808"),
        (["gan", "--g-steps", "99999999999999999999999"], "g_steps="),
        (["gan", "--g-steps", "101"], "g_steps=101: input should be less than or equal to 100"),
        (["vae", "--epochs", "1000000000"], "less than or equal to 10000"),
    ],
)
def test_values_no_machine_can_train_are_refused_before_anything_is_written(
    tmp_path, capsys, argv, words
):
    run_dir = tmp_path / "run"
    assert cli.main([*argv, "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1, err
    assert not run_dir.exists()


def test_a_run_dir_that_cannot_be_a_folder_is_refused_before_anything_is_written(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    cases = {
        "/dev/null": "is a file, not a folder",
        "afile/sub": "afile is a file, so no folder can be made in it",
        "/proc/genlab": "cannot be created in /proc",
        "": "is empty",
        ".": "is the current folder",
    }
    for run_dir, words in cases.items():
        assert cli.main(["vae", "--epochs", "1", "--run-dir", run_dir]) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, (run_dir, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
