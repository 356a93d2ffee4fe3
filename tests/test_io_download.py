"""Fetching a dataset's files from a path, a file:// URL or http, hashed and reported on
the way: pipeline/io/download.py."""
import hashlib
import http.server
import socket
import threading
import time
from functools import partial

import pytest
from conftest import make_archive

from pipeline.datasets import aclimdb
from pipeline.errors import PipelineError
from pipeline.io import download
from pipeline.io.download import describe_progress, fetch_file


def fetch_archive(url, destination, sha256=None, **kwargs):
    """:func:`fetch_file` for the aclImdb archive (its name in messages)."""
    return fetch_file(url, destination, name=aclimdb.ARCHIVE_NAME, sha256=sha256, **kwargs)


def sha256_of(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(folder):
    """A quiet http server of ``folder`` on a free port: ``(server, port)``."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


class TestFetch:
    def test_from_path(self, tiny_archive, tmp_path):
        destination = tmp_path / "copy.tar.gz"
        digest = fetch_archive(str(tiny_archive), destination)
        assert destination.read_bytes() == tiny_archive.read_bytes()
        assert digest == sha256_of(tiny_archive)

    def test_from_file_url(self, tiny_archive, tmp_path):
        destination = tmp_path / "copy.tar.gz"
        digest = fetch_archive(tiny_archive.as_uri(), destination)
        assert destination.read_bytes() == tiny_archive.read_bytes()
        assert digest == sha256_of(tiny_archive)

    def test_file_url_with_escaped_characters(self, tmp_path):
        source = make_archive(tmp_path / "my archive %.tar.gz")
        destination = tmp_path / "copy.tar.gz"
        fetch_archive(source.as_uri(), destination)
        assert destination.read_bytes() == source.read_bytes()

    def test_matching_sha256_accepted_in_any_case(self, tiny_archive, tmp_path):
        expected = sha256_of(tiny_archive).upper()
        assert fetch_archive(str(tiny_archive), tmp_path / "c", sha256=expected) == \
            expected.lower()

    def test_sha256_mismatch(self, tiny_archive, tmp_path):
        wrong = "0" * 64
        with pytest.raises(PipelineError, match="SHA-256") as error:
            fetch_archive(str(tiny_archive), tmp_path / "copy.tar.gz", sha256=wrong)
        assert sha256_of(tiny_archive) in str(error.value) and wrong in str(error.value)

    def test_missing_path(self, tmp_path):
        with pytest.raises(PipelineError, match="--DownloadDataset-url"):
            fetch_archive(str(tmp_path / "nowhere.tar.gz"), tmp_path / "copy.tar.gz")

    def test_unreachable_http_url(self, tmp_path):
        url = f"http://127.0.0.1:{free_port()}/aclImdb_v1.tar.gz"
        with pytest.raises(PipelineError) as error:
            fetch_archive(url, tmp_path / "copy.tar.gz", timeout=10)
        message = str(error.value)
        assert "--DownloadDataset-url" in message and url in message
        assert error.value.__cause__ is None and error.value.__suppress_context__

    def test_http_download(self, tiny_archive, tmp_path):
        server, port = serve(tiny_archive.parent)
        try:
            destination = tmp_path / "downloaded.tar.gz"
            digest = fetch_archive(f"http://127.0.0.1:{port}/{tiny_archive.name}",
                                   destination, sha256=sha256_of(tiny_archive))
            assert destination.read_bytes() == tiny_archive.read_bytes()
            assert digest == sha256_of(tiny_archive)
            missing = f"http://127.0.0.1:{port}/missing.tar.gz"
            with pytest.raises(PipelineError, match="(?i)404|not found") as error:
                fetch_archive(missing, tmp_path / "x")
            assert missing in str(error.value)
        finally:
            server.shutdown()
            server.server_close()


class TestProgress:
    def test_local_file_increasing_byte_counts_and_total(self, tmp_path, monkeypatch):
        source = make_archive(tmp_path / "a.tar.gz", per_class=(60, 30))
        size = source.stat().st_size
        monkeypatch.setattr(download, "CHUNK", 1000)        # many chunks
        monkeypatch.setattr(download, "PROGRESS_EVERY", 0.0)  # report every one
        calls = []
        digest = fetch_file(str(source), tmp_path / "copy", name="a.tar.gz",
                            progress=lambda name, done, total: calls.append((done, total)))
        assert digest == sha256_of(source)
        assert len(calls) >= size // 1000
        assert all(total == size for _, total in calls)
        done = [d for d, _ in calls]
        assert all(b > a for a, b in zip(done, done[1:]))  # strictly increasing, no repeat
        assert done[0] == 1000 and done[-1] == size
        assert all(d % 1000 == 0 for d in done if d != size)  # one chunk at a time

    def test_progress_is_throttled_but_always_ends_with_the_total(self, tmp_path, monkeypatch):
        source = make_archive(tmp_path / "a.tar.gz", per_class=(60, 30))
        size = source.stat().st_size
        monkeypatch.setattr(download, "CHUNK", 1000)
        calls = []
        fetch_file(source.as_uri(), tmp_path / "copy", name="a.tar.gz",
                   progress=lambda name, done, total: calls.append((done, total)))
        assert calls[-1] == (size, size)
        assert len(calls) < size // 1000  # about once a second, not once per chunk

    def test_no_callback_is_fine(self, tiny_archive, tmp_path):
        assert fetch_file(str(tiny_archive), tmp_path / "c", name="x") == sha256_of(tiny_archive)

    def test_http_progress_knows_the_content_length(self, tiny_archive, tmp_path):
        server, port = serve(tiny_archive.parent)
        try:
            calls = []
            fetch_file(f"http://127.0.0.1:{port}/{tiny_archive.name}", tmp_path / "d",
                       name="a.tar.gz", progress=lambda name, d, t: calls.append((d, t)))
            size = tiny_archive.stat().st_size
            assert calls[-1] == (size, size)
        finally:
            server.shutdown()
            server.server_close()

    def test_describe_progress(self):
        mb = 1 << 20
        message, percent = describe_progress("aclImdb_v1.tar.gz", 12 * mb, 48 * mb)
        assert message == "aclImdb_v1.tar.gz: 12.0 of 48.0 MB (25 %)"
        assert percent == pytest.approx(25.0)
        message, percent = describe_progress("imdb.npz", 3 * mb // 2, None)
        assert message == "imdb.npz: 1.5 MB" and percent is None

    def test_messages_name_the_file_and_its_option(self, tmp_path):
        with pytest.raises(PipelineError) as error:
            fetch_file(str(tmp_path / "no.json"), tmp_path / "c", name="imdb_word_index.json",
                       parameter="word_index_url")
        message = str(error.value)
        assert str(tmp_path / "no.json") in message
        assert "--DownloadDataset-word-index-url /path/to/imdb_word_index.json" in message
        assert "word_index_url = /path/to/imdb_word_index.json under [DownloadDataset]" \
            in message


# ------------------------------------------------------------------ stalled servers

def _trickling_server(delay):
    """A local HTTP server that sends a 1 MB file one byte every ``delay`` seconds."""
    import http.server
    import threading

    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the handler's name
            self.send_response(200)
            self.send_header("Content-Length", str(1 << 20))
            self.end_headers()
            try:
                for _ in range(1 << 20):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(delay)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("delay", [0.2, 5.0])
def test_a_stalled_download_stops_with_one_line(tmp_path, delay):
    """One byte every 0.2 s (a trickle) or every 5 s (silence longer than the timeout):
    both stop after about the timeout, saying what arrived and how to allow more."""
    from pipeline.io.download import fetch_file, stall_timeout

    server = _trickling_server(delay)
    url = f"http://127.0.0.1:{server.server_address[1]}/aclImdb_v1.tar.gz"
    calls = []
    start = time.monotonic()
    try:
        with stall_timeout(1.5), pytest.raises(PipelineError) as error:
            fetch_file(url, tmp_path / "a", name="aclImdb_v1.tar.gz",
                       progress=lambda *args: calls.append(args))
    finally:
        server.shutdown()
    seconds = time.monotonic() - start
    message = str(error.value)
    assert "stalled" in message or "sent nothing for 1.5 s" in message, message
    assert "--DownloadDataset-timeout" in message and "Nothing was kept" in message
    print(f"delay {delay} s: stopped after {seconds:.1f} s: {message[:100]}")
    assert seconds < 30
    if delay < 1:
        assert calls, "no progress was shown while bytes trickled in"
