"""An explorer in a real browser: JupyterLab on localhost, driven by headless Chromium (Playwright).

The test writes a one-cell notebook that creates the augmentation explorer on a generated tile,
starts JupyterLab on 127.0.0.1 (a free port, a random token, a temporary root folder and fresh
settings), opens the notebook in Debian's Chromium, runs the cell from the Run menu, waits for the
explorer's preview image, moves the rotation slider with the keyboard and checks that the preview
changed. A screenshot goes to ``build/test-output/``.

``bash course.sh test`` installs Chromium (``apt-get install chromium``, as root) when
``/usr/bin/chromium`` is missing; the test skips, saying so, only where no Chromium is installed.
Every wait is bounded, and JupyterLab (with its kernel) and the browser are always shut down.
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = ROOT / "build" / "test-output"
CHROMIUM = Path(os.environ.get("CANCER_COURSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]  # fmt: skip
SERVER_START_S = 60  # JupyterLab answering its REST API
WIDGET_S = 120  # kernel start, imports (TensorFlow) and the first render
UPDATE_S = 60  # one re-render after the slider moves

EXPLORER_CELL = """\
import numpy as np

from cancer_course import synth, widgets

tile = synth.make_tile(np.random.default_rng(0), 1, 48)
explorer = widgets.augmentation_explorer(tile, n=4, columns=5)
explorer"""


def notebook_json() -> str:
    cell = {"cell_type": "code", "execution_count": None, "id": "explorer", "metadata": {}, "outputs": [],
            "source": EXPLORER_CELL}  # fmt: skip
    return json.dumps({
        "cells": [cell],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    })  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer {url} within {SERVER_START_S} s:\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen, base: str, token: str) -> None:
    """Ask the server to shut down (it stops its kernels too); terminate, then kill, if it lingers."""
    if proc.poll() is None:
        try:
            request = urllib.request.Request(f"{base}/api/shutdown", method="POST",
                                             headers={"Authorization": f"token {token}"})  # fmt: skip
            urllib.request.urlopen(request, timeout=5).close()
        except OSError:
            pass
    for stop in (None, proc.terminate, proc.kill):
        if stop:
            stop()
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a folder with the explorer notebook: (url, folder)."""
    work = tmp_path / "lab"
    work.mkdir()
    (work / "explorer.ipynb").write_text(notebook_json())
    settings = tmp_path / "settings"
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))  # no news toast
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "MPLBACKEND": "Agg"}  # fmt: skip
    log = tmp_path / "jupyterlab.log"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}", "--ServerApp.port_retries=0",
               "--LabApp.extension_manager=readonly"]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root
    with open(log, "w") as log_file:
        proc = subprocess.Popen(command, cwd=work, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(proc, f"{base}/api/status?token={token}", log)
        yield f"{base}/lab/tree/explorer.ipynb?token={token}", tmp_path
    finally:
        stop_server(proc, base, token)


def run_all_cells(page) -> None:
    """Run menu -> Run All Cells, until the cell's prompt shows it ran or is running ([*] or [1])."""
    prompt = page.locator(".jp-Cell .jp-InputPrompt").first
    for _attempt in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.wait_for_timeout(300)  # Lumino refreshes the open menu's items once; click after that
        page.locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            if prompt.inner_text().strip() not in ("[ ]:", ""):
                return
            time.sleep(0.25)
        page.keyboard.press("Escape")
    pytest.fail(f"the cell did not start after three tries (prompt {prompt.inner_text()!r})")


@pytest.fixture
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: {CHROMIUM} is missing and could not be installed (bash course.sh test installs "
                    "Debian's chromium with apt-get when run as root; or set CANCER_COURSE_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    return sync_api


def test_augmentation_explorer_in_jupyterlab(chromium, jupyterlab):  # chromium first: skip before starting a server
    url, tmp_path = jupyterlab
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    screenshot = OUTPUT_DIR / "browser_augmentation_explorer.png"
    failure = OUTPUT_DIR / "browser_failure.png"  # written only when the test fails
    failure.unlink(missing_ok=True)
    start = time.monotonic()
    with chromium.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000}, timeout=60_000,
        )  # fmt: skip
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(30_000)
            page.goto(url, wait_until="domcontentloaded", timeout=60_000)
            page.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible", timeout=60_000)
            # Wait for the kernel ("Python 3 (ipykernel) | Idle" in the status bar): before that, Run does nothing.
            kernel_status = page.locator("#jp-main-statusbar .jp-StatusBar-TextItem[title^='Change kernel']")
            chromium.expect(kernel_status).to_have_text(re.compile(r"\| Idle$"), timeout=WIDGET_S * 1000)

            run_all_cells(page)

            explorer = page.locator(".cancer-course-explorer")
            preview = explorer.locator(".jp-OutputArea-output img").first
            preview.wait_for(state="visible", timeout=WIDGET_S * 1000)
            before = preview.get_attribute("src")
            assert before and before.startswith("data:image/png;base64,")
            slider = explorer.locator(".widget-slider").filter(has_text="rotation").first
            readout = slider.locator(".widget-readout")
            assert readout.inner_text().strip() == "20"

            # Move the rotation slider with the keyboard: 20 -> 25 -> 30 degrees.
            handle = slider.locator(".noUi-handle").first
            handle.focus()
            handle.press("ArrowRight")
            handle.press("ArrowRight")
            page.wait_for_function(
                """([root, old]) => {
                    const img = document.querySelector(root + ' .jp-OutputArea-output img');
                    return img !== null && img.src !== old;
                }""",
                arg=[".cancer-course-explorer", before],
                timeout=UPDATE_S * 1000,
            )  # fmt: skip
            after = preview.get_attribute("src")
            assert readout.inner_text().strip() == "30"
            assert after != before and after.startswith("data:image/png;base64,")
            chromium.expect(explorer).to_contain_text("+-30.0 degrees", timeout=UPDATE_S * 1000)
            page.screenshot(path=str(screenshot), full_page=True)
        except Exception:
            try:
                context.pages[0].screenshot(path=str(failure), full_page=True)
            except Exception:  # the screenshot is a help, never the error to report
                pass
            print(f"JupyterLab log (end):\n{(tmp_path / 'jupyterlab.log').read_text()[-3000:]}")
            raise
        finally:
            context.close()
    assert screenshot.stat().st_size > 10_000
    print(f"browser test: {time.monotonic() - start:.1f} s in Chromium; screenshot {screenshot}")
    shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)
