"""Imported only by multiprocessing's fork server, when the contact import's pool starts it
(``set_forkserver_preload(["contacts.preload"])`` in ``contacts.services.imports._pool``):
sets Django up and loads the row preparation (models, ``phonenumbers`` and its metadata)
once in the server, so that each helper forked from it starts ready (D74). If anything
fails here the helpers set themselves up as before (their initializer,
``contacts.workers.setup``)."""

from contacts import workers

try:
    workers.setup()
    import phonenumbers.carrier  # noqa: F401

    import contacts.services.imports  # noqa: F401 - models, phones, attributes, phonenumbers
except Exception:  # noqa: BLE001, S110 - the helpers' initializer does the same work
    pass
