"""The yardstick of ``bench/verify.py --part b``: a plain Flask app whose one POST endpoint
parses the JSON body and answers a small JSON object, served by gunicorn with the same settings
as ``kybgate serve`` (issue #14). Nothing of kybgate is imported: it measures what Flask and
gunicorn cost on this machine, so the verification figure is read against it.

    gunicorn -w 2 --threads 8 --worker-class gthread --worker-connections 8 \\
        -b 127.0.0.1:18201 --chdir bench plain_app:app
"""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/bare")
def bare():
    """Parse the body, answer ``{"ok": true}``."""
    request.get_json()
    return jsonify(ok=True)


@app.get("/healthz")
def healthz():
    """Readiness for the benchmark's start-up wait."""
    return jsonify(ok=True)
