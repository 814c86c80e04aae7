"""Other processes that hold the warehouse the way a running pipeline does, for the tests of what
readers and second writers do meanwhile. Each waits on its stdin: a line is an order, EOF (closing
its stdin) lets go."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _start(code: str, ready: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline().strip()
    assert line == ready, f"the holder did not start: {line!r}"
    return proc


def hold_writer_lock(settings, purpose: str = "test holder") -> subprocess.Popen:
    """The writer lock only (a writer between two connections)."""
    return _start(
        f"""
        import sys
        from afterclick.settings import load_settings
        from afterclick import warehouse
        s = load_settings(state_dir={str(settings.root)!r})
        with warehouse.writer(s, purpose={purpose!r}):
            print("locked", flush=True)
            sys.stdin.read()  # hold until the test closes our stdin
    """,
        "locked",
    )


def hold_pipeline(settings, purpose: str = "test pipeline", lock: bool = True) -> subprocess.Popen:
    """The writer lock (unless ``lock`` is false) and a read-write connection to warehouse.duckdb,
    as a pipeline in the middle of a step has them. Each line sent makes it write a row and answer
    ``wrote <rows>`` (or the error); EOF closes the connection and lets go."""
    return _start(
        f"""
        import contextlib, sys
        from afterclick.settings import load_settings
        from afterclick import warehouse
        s = load_settings(state_dir={str(settings.root)!r})
        held = warehouse.writer(s, purpose={purpose!r}) if {lock!r} else contextlib.nullcontext()
        with held:
            con = warehouse.connect(s)
            con.execute("create table if not exists raw.pipeline_rows (n integer)")
            print("writing", flush=True)
            for _ in sys.stdin:
                try:
                    con.execute("insert into raw.pipeline_rows values (1)")
                    print("wrote", con.sql("select count(*) from raw.pipeline_rows").fetchall()[0][0], flush=True)
                except Exception as exc:
                    print("error", type(exc).__name__, exc, flush=True)
            con.close()
    """,
        "writing",
    )


def write_once(holder: subprocess.Popen) -> str:
    """Ask a ``hold_pipeline`` holder to write a row; its answer."""
    holder.stdin.write("write\n")
    holder.stdin.flush()
    return holder.stdout.readline().strip()


def let_go(holder: subprocess.Popen) -> int:
    holder.stdin.close()
    return holder.wait(30)


def open_for_writing(settings) -> str:
    """Open warehouse.duckdb read-write in another process (as the next pipeline step does), write a
    row and close: ``ok`` or the error that stopped it."""
    code = textwrap.dedent(f"""
        from afterclick.settings import load_settings
        from afterclick import warehouse
        s = load_settings(state_dir={str(settings.root)!r})
        try:
            con = warehouse.connect(s)
            con.execute("create table if not exists raw.writer_rows (n integer)")
            con.execute("insert into raw.writer_rows values (1)")
            con.close()
            print("ok")
        except Exception as exc:
            print("error", type(exc).__name__, exc)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return done.stdout.strip() or done.stderr.strip()[-500:]
