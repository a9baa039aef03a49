"""The e-library side: the ``ElibraryBackend`` port (``base``) and the KinoDen-style REST
adapter (``kinoden``, over ``client`` and the one error translator in ``errors``)."""
