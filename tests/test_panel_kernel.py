"""The live panel inside a real Jupyter kernel, driven the way a browser drives it.

A browser sends widget changes as ``comm_msg`` messages on the kernel's shell
channel; here the test sends the same messages with jupyter_client. This checks
what a Python-only test cannot: that the panel's asyncio task keeps training
between cells on the kernel's own event loop, and that a slider move and the
Pause button, arriving while it trains, reach the training loop.
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
panel = TrainingPanel(trainer, data, n_show=128)
seen = []  # n_critic as the loop saw it, one entry per step
trainer.variant = dataclasses.replace(trainer.variant, after_d_step=lambda disc, hp: seen.append(hp.n_critic))
print(json.dumps({"n_critic": panel.n_critic.model_id, "train": panel.train_button.model_id,
                  "pause": panel.pause_button.model_id}))
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


def send_comm(kc, comm_id: str, data: dict) -> None:
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    kc.shell_channel.send(msg)


def set_value(kc, model_id: str, value) -> None:
    # the widget message protocol 2.x, spoken by ipywidgets 7.7 and 8 alike
    send_comm(kc, model_id, {"method": "update", "state": {"value": value}, "buffer_paths": []})


def click(kc, model_id: str) -> None:
    send_comm(kc, model_id, {"method": "custom", "content": {"event": "click"}})


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
    ids = json.loads(run(kernel, SETUP).strip().splitlines()[-1])
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
