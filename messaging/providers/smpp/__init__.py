"""SMPP 3.4: the PDU codec (``pdu``), the asyncio transceiver (``client``), receipts and MOs
(``deliver``) and the driver (``provider.SmppProvider``, registry key ``smpp``).

``SmppProvider`` is imported lazily so that the codec and the client (used by the SMSC
simulator) do not need Django's models loaded.
"""


def __getattr__(name):
    if name == "SmppProvider":
        from messaging.providers.smpp.provider import SmppProvider

        return SmppProvider
    raise AttributeError(name)
