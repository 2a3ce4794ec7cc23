"""The type of secret input properties (passwords, private keys, tokens).

The SDK's marker, :class:`orch.sdk.Secret`, cannot be used as a field type
yet: ``orch.sdk.convert_inputs`` hands properties to ``msgspec.convert``,
which does not convert text into a subclass of ``str`` (``Expected `Secret`,
got `str```). Until it does, secret properties are plain text annotated with
``secret`` metadata, which converts as ``str`` and marks the field in the
generated JSON Schema (``writeOnly``) so the console and the reference page
can hide it. Secrets are never logged or published by these activities.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

SecretText = Annotated[
    str, msgspec.Meta(extra={"secret": True}, extra_json_schema={"writeOnly": True})
]
