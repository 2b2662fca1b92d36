"""The live panel inside a real Jupyter kernel, driven the way a browser drives it.

A browser sends widget changes as ``comm_msg`` messages on the kernel's shell
channel; here the test sends the same messages with jupyter_client. This checks
what a Python-only test cannot:

* background mode (JupyterLab): the panel's asyncio task keeps training between
  cells on the kernel's own event loop, and a slider move and the Pause button,
  arriving while it trains, reach the training loop;
* foreground mode (Colab): every widget update of a click on Train is sent while
  the kernel is still busy with that click (its parent header is the click's
  ``comm_msg``, and it arrives before the kernel reports idle), none after, and
  a slider moved between two clicks reaches the loop.
"""

from __future__ import annotations

import json
import time

import pytest
from jupyter_client.manager import start_new_kernel

SETUP = """
import dataclasses, json, torch
from gan_tutor import runtime
from gan_tutor.data import ring8
from gan_tutor.models import Generator, Discriminator
from gan_tutor.train import Trainer, Hyper
from gan_tutor.widgets import TrainingPanel
rt = runtime.setup(seed=0)
data = ring8()
trainer = Trainer(Generator(2, 2, 32), Discriminator(2, 32), lambda n, g: data.sample(n, g, rt.device),
                  "gan", Hyper(lr_d=1e-3, lr_g=1e-3), batch_size=64, device=rt.device)
panel = TrainingPanel(trainer, data, n_show=128, mode=MODE, steps_per_click=STEPS)
seen = []  # n_critic as the loop saw it, one entry per step
trainer.variant = dataclasses.replace(trainer.variant, after_d_step=lambda disc, hp: seen.append(hp.n_critic))
print(json.dumps({"n_critic": panel.n_critic.model_id, "train": panel.train_button.model_id,
                  "pause": panel.pause_button.model_id, "image": panel.image.model_id,
                  "mode": panel.mode}))
"""


def run(kc, code: str) -> str:
    out: list[str] = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    reply = kc.execute_interactive(code, timeout=60, output_hook=hook)
    assert reply["content"]["status"] == "ok", "".join(out)
    return "".join(out)


def send_comm(kc, comm_id: str, data: dict) -> str:
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    kc.shell_channel.send(msg)
    return msg["header"]["msg_id"]


def set_value(kc, model_id: str, value) -> None:
    # the widget message protocol 2.x, spoken by ipywidgets 7.7 and 8 alike
    send_comm(kc, model_id, {"method": "update", "state": {"value": value}, "buffer_paths": []})


def click(kc, model_id: str) -> str:
    return send_comm(kc, model_id, {"method": "custom", "content": {"event": "click"}})


def setup(kc, mode: str, steps: int = 500) -> dict:
    return json.loads(run(kc, f"MODE, STEPS = {mode!r}, {steps}\n" + SETUP).strip().splitlines()[-1])


@pytest.fixture
def kernel():
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def state(kc) -> dict:
    return json.loads(run(kc, "print(json.dumps({'step': trainer.iteration, 'running': panel.running, "
                              "'n_critic': trainer.hyper.n_critic, 'seen': sorted(set(seen)), "
                              "'png': len(panel.png), 'buttons': [panel.train_button.disabled, "
                              "panel.pause_button.disabled]}))"))


def test_panel_trains_in_the_background_and_obeys_the_frontend(kernel):
    ids = setup(kernel, "background")
    assert ids["mode"] == "background"
    before = state(kernel)
    assert before["step"] == 0 and not before["running"]

    click(kernel, ids["train"])          # the Train button, as the browser sends it
    time.sleep(2.0)                      # no cell is running: only the panel's task can advance
    mid = state(kernel)
    assert mid["running"] and mid["step"] > 20, mid
    assert mid["buttons"] == [True, False]  # Train disabled, Pause enabled while training

    set_value(kernel, ids["n_critic"], 3)  # move the slider while it trains
    time.sleep(1.0)
    later = state(kernel)
    assert later["n_critic"] == 3 and 3 in later["seen"], later  # the loop itself ran with 3
    assert later["step"] > mid["step"]

    click(kernel, ids["pause"])
    time.sleep(0.5)
    paused = state(kernel)
    assert not paused["running"] and paused["buttons"] == [False, True]
    time.sleep(0.5)
    assert state(kernel)["step"] == paused["step"]  # nothing trains after Pause


def drain_iopub(kc, until_idle_of: str | None, timeout: float) -> list[dict]:
    """IOPub messages until the kernel reports idle for ``until_idle_of`` (a msg_id), or,
    with None, every message that arrives within ``timeout`` seconds."""
    got, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.2)
        except Exception:  # queue.Empty: nothing arrived in 0.2 s
            continue
        got.append(msg)
        if (until_idle_of is not None and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
                and msg["parent_header"].get("msg_id") == until_idle_of):
            return got
    assert until_idle_of is None, f"the kernel did not finish the click within {timeout} s"
    return got


def widget_updates(msgs: list[dict]) -> list[dict]:
    return [m for m in msgs if m["msg_type"] == "comm_msg" and m["content"]["data"].get("method") == "update"]


def test_colab_mode_sends_every_update_while_busy_with_the_click(kernel):
    ids = setup(kernel, "foreground", steps=300)
    assert ids["mode"] == "foreground"
    drain_iopub(kernel, None, 0.5)  # what the set-up cell left on the channel

    clicked = click(kernel, ids["train"])
    msgs = drain_iopub(kernel, clicked, timeout=120)
    states = [m["content"]["execution_state"] for m in msgs if m["msg_type"] == "status"
              and m["parent_header"].get("msg_id") == clicked]
    assert states[0] == "busy" and states[-1] == "idle", states
    updates = widget_updates(msgs)
    assert updates, "a click on Train sent no widget update"
    strangers = [m["parent_header"].get("msg_id") for m in updates if m["parent_header"].get("msg_id") != clicked]
    assert strangers == [], f"widget updates not sent as replies to the click: {strangers}"
    busy_at = next(i for i, m in enumerate(msgs) if m["msg_type"] == "status")
    assert all(busy_at < msgs.index(m) for m in updates)  # after busy, and (drained until) before idle
    frames = [m for m in updates if m["content"]["comm_id"] == ids["image"]]
    assert len(frames) >= 2, f"the picture was redrawn {len(frames)} time(s) during the run; expected frames"
    assert widget_updates(drain_iopub(kernel, None, 1.5)) == []  # nothing is sent once the click is done

    after = state(kernel)
    assert after["step"] == 300 and not after["running"] and after["buttons"][0] is False, after

    set_value(kernel, ids["n_critic"], 3)  # between runs: the kernel reads it before the next click
    again = click(kernel, ids["train"])
    drain_iopub(kernel, again, timeout=120)
    final = state(kernel)
    assert final["step"] == 600 and 3 in final["seen"] and final["n_critic"] == 3, final
