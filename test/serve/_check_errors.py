"""ember-serve under bad and hostile input, with 1 slot, a queue of 1, 4 KB
bodies and a 2 s read timeout: every bad request gets its status and an
OpenAI error object naming the problem; a full server answers 429; a client
that disconnects frees its slot; a half-open connection is closed after the
read timeout while others are served; SIGTERM lets the request in flight
finish (refusing new ones with 503) and exits 0. Prints one line per check.

usage: _check_errors.py MODEL_DIR"""

import http.client
import json
import re
import socket
import sys
import threading
import time
from urllib.parse import urlparse

from _serve import EmberServe


def connect(url, timeout=60):
    address = urlparse(url)
    return http.client.HTTPConnection(address.hostname, address.port, timeout=timeout)


def request(url, method, path, body=None):
    connection = connect(url)
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    connection.request(method, path, body=data, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response.status, text


def metric(url, name):
    _, text = request(url, "GET", "/metrics")
    found = re.search("^" + re.escape(name) + " ([0-9.e+]+)$", text, re.M)
    return float(found.group(1)) if found else None


def wait_for(condition, what, seconds=60):
    deadline = time.time() + seconds
    while not condition():
        if time.time() > deadline:
            sys.exit("timed out waiting for " + what)
        time.sleep(0.05)


def print_error(label, status, text):
    error = json.loads(text)["error"]
    print("%s: %d %s (param %s): %s" % (label, status, error["type"], error["param"], error["message"]))


def streaming(url, body):
    """A streaming request whose first event was read: (connection, response)."""
    connection = connect(url)
    connection.request("POST", "/v1/completions", body=json.dumps(dict(body, stream=True)))
    response = connection.getresponse()
    assert response.status == 200, response.status
    response.readline()
    return connection, response


def main():
    model = sys.argv[1]
    long_run = {"prompt": "Hello", "max_tokens": 4000, "ignore_eos": True, "temperature": 0}
    with EmberServe(model, "--batch", "1", "--max-queue", "1", "--max-body-bytes", "4096", "--read-timeout", "2",
                    "--max-context", "4096") as server:
        url = server.url
        bad = [
            ("malformed JSON", "/v1/completions", '{"prompt": "hi",'),
            ("not an object", "/v1/completions", '["hi"]'),
            ("no prompt", "/v1/completions", {"max_tokens": 4}),
            ("no messages", "/v1/chat/completions", {"prompt": "hi"}),
            ("wrong type", "/v1/completions", {"prompt": "hi", "temperature": "hot"}),
            ("out of range", "/v1/completions", {"prompt": "hi", "top_p": 0}),
            ("max_tokens 0", "/v1/completions", {"prompt": "hi", "max_tokens": 0}),
            ("n 2", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "n": 2}),
            ("empty stop", "/v1/completions", {"prompt": "hi", "stop": [""]}),
            ("message without role", "/v1/chat/completions", {"messages": [{"content": "hi"}]}),
            ("unsupported", "/v1/completions", {"prompt": "hi", "echo": True}),
            ("unknown model", "/v1/completions", {"model": "gpt-4", "prompt": "hi"}),
            ("id past the vocabulary", "/v1/completions", {"prompt": [1, 2, 999999]}),
            ("too long for the context", "/v1/completions", {"prompt": "hi", "max_tokens": 5000}),
            ("role the template refuses", "/v1/chat/completions", {"messages": [{"role": "tool", "content": "42"}]}),
            ("oversize body", "/v1/completions", json.dumps({"prompt": "x" * 5000})),
        ]
        for label, path, body in bad:
            print_error(label, *request(url, "POST", path, body))
        print_error("unknown route", *request(url, "GET", "/v1/engines"))

        # A client that disconnects frees its slot: A takes the one slot, B
        # queues, C finds the queue full; A leaves and B completes.
        a, a_response = streaming(url, long_run)
        queued = {}
        b = threading.Thread(target=lambda: queued.update(
            result=request(url, "POST", "/v1/completions", {"prompt": "Hi", "max_tokens": 3})))
        b.start()
        wait_for(lambda: metric(url, "ember_queued_requests") == 1, "B to queue")
        print_error("full", *request(url, "POST", "/v1/completions", {"prompt": "Hi", "max_tokens": 3}))
        a.sock.shutdown(socket.SHUT_RDWR)
        a.close()
        b.join(60)
        status, text = queued["result"]
        print("queued request after the first client left: %d, finish_reason %s" %
              (status, json.loads(text)["choices"][0]["finish_reason"]))
        wait_for(lambda: metric(url, 'ember_requests_finished_total{reason="cancelled"}') == 1, "the cancellation")
        print("cancelled: %d, running: %d" % (metric(url, 'ember_requests_finished_total{reason="cancelled"}'),
                                              metric(url, "ember_running_requests")))

        # A half-open request: headers never finished. Others are served
        # meanwhile; the server closes it after the read timeout.
        address = urlparse(url)
        slow = socket.create_connection((address.hostname, address.port))
        slow.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
        status, _ = request(url, "POST", "/v1/completions", {"prompt": "Hi", "max_tokens": 2})
        started = time.time()
        slow.settimeout(30)
        closed = slow.recv(4096)
        print("while a request was half-sent: another got %d; the half-sent one was closed after %.0f s%s" %
              (status, round(time.time() - started), " (no response)" if not closed else ": " + closed.decode()[:12]))
        slow.close()
        status, text = request(url, "GET", "/health")
        print("health after all that: %d %s" % (status, text.strip()))

        # SIGTERM drains: the stream in flight completes, new requests get 503.
        connection, response = streaming(url, dict(long_run, max_tokens=3000,
                                                   stream_options={"include_usage": True}))
        server.process.send_signal(15)
        wait_for(lambda: request(url, "GET", "/health")[0] == 503, "the server to drain")
        print_error("while draining", *request(url, "POST", "/v1/completions", {"prompt": "Hi", "max_tokens": 2}))
        events = response.read().decode().split("\n\n")
        last, usage = (json.loads(event[len("data: "):]) for event in events[-4:-2])
        print("the stream in flight at SIGTERM ended with %s after %d tokens, then %s; ember-serve exited %d" %
              (last["choices"][0]["finish_reason"], usage["usage"]["completion_tokens"], events[-2],
               server.process.wait(60)))

    # A second signal while draining stops at once, the stream cut short.
    server = EmberServe(model, "--batch", "1").__enter__()
    connection, response = streaming(server.url, dict(long_run, max_tokens=4000))
    server.process.send_signal(15)
    wait_for(lambda: "a second signal stops at once" in "".join(server.stderr), "the drain to begin")
    server.process.send_signal(2)
    status = server.process.wait(60)
    try:
        tail = response.read().decode()
    except http.client.IncompleteRead as cut:  # the chunked body ends without its last chunk
        tail = cut.partial.decode()
    print("a second signal while draining: exit %d, %s" %
          (status, "the stream cut before [DONE]" if "[DONE]" not in tail else "the stream completed"))


if __name__ == "__main__":
    main()
