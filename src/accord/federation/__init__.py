"""The node-to-node protocol: signed envelopes, pinned peers, delivery rules, bundles.

``messages`` is the versioned envelope (``accord.envelope/1``) and how it is signed;
``trust`` the signed peer descriptor, verification against pinned keys (key history
included) and the inbound checks; ``delivery`` the precedence order, retry schedule,
batching and the :class:`~accord.federation.delivery.Transport` protocol; ``bundle``
the signed bundle file for air-gapped transfer; ``witness`` the checkpoint message,
the witness's verdict on a peer's tree head and the cosignature. Bytes in, values out: nothing here
touches a database or reads the clock; ``accord.services.outbox`` does, around this.
The wire format is specified in ``docs/federation.md``.
"""
