"""The StreetLink-style referral wire format: parse, normalise, CSV and Open311.

Pure: imports :mod:`geo`, msgspec and the standard library only.

* :mod:`streetlink.schema`: ``StreetLinkAlert`` (API input), ``NormalisedReferral``.
* :mod:`streetlink.normalise`: ``normalise(alert, now=...)``.
* :mod:`streetlink.references`: ``ESX-7K2M-QR`` style codes with a check symbol.
* :mod:`streetlink.csv_io`: ``import_csv`` / ``export_csv``.
* :mod:`streetlink.open311`: ``to_open311`` / ``from_open311``.
* :mod:`streetlink.guidance`: fixed texts such as ``URGENT_GUIDANCE_999``.
* :mod:`streetlink.errors`: domain exceptions (no HTTP).
"""
