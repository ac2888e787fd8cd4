"""The verification data plane (issue #14): what answers ``POST /api/v1/verify`` and the
gateway checks inside ``kybgate serve``, apart from the control plane's Flask machinery.

* :mod:`app.dataplane.wsgi` — the WSGI dispatcher in front of the Flask app (``mount``);
* :mod:`app.dataplane.inputs` — a request's body or headers as a verification;
* :mod:`app.dataplane.runtime` — the per-process verifier, key cache, audit sink and
  invalidation listener.
"""
