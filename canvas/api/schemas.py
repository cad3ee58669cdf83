"""Request and response bodies of the ingestion API, as they appear in the OpenAPI schema.

Customer fields are typed `Any` here and documented by hand: their single
definition is canvas.services.customers.customer_record_parse, shared with the
CSV import, which turns a bad value into an error naming the field.
"""

from datetime import datetime
from typing import Annotated, Any, Required

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from typing_extensions import TypedDict

from canvas.api.errors import TooManyObjects
from canvas.services.customers import EXTERNAL_ID_MAX_LENGTH

MAX_OBJECTS_PER_CALL = 1_000
ADS_TRACKING_DESCRIPTION = (
    "Whether the customer allows ads tracking. A customer created without it has it off "
    "(false) until a call or an import sends true; null or absent leaves it unchanged."
)

ExternalId = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1, "maxLength": EXTERNAL_ID_MAX_LENGTH},
                {"type": "integer"},
            ]
        }
    ),
    Field(description="The customer's id in your systems (text, or an integer taken as text)."),
]
OptionalText = Annotated[Any, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "null"}]})]


def _count_objects(data: Any, *names: str) -> Any:
    # Runs before validation, so a huge batch is refused without validating each
    # object; TooManyObjects is not a ValueError, so pydantic lets it through.
    if isinstance(data, dict):
        count = sum(len(data[n]) for n in names if isinstance(data.get(n), list))
        if count > MAX_OBJECTS_PER_CALL:
            raise TooManyObjects(count=count, limit=MAX_OBJECTS_PER_CALL)
    return data


class CustomerAttributesIn(TypedDict, total=False):
    """One customer, created or updated by external_id. Other keys become custom attributes."""

    # A TypedDict, not a model: validated four times faster, and it is the dict of the
    # fields the caller sent (an absent field is left unchanged), custom ones included.
    __pydantic_config__ = ConfigDict(  # type: ignore[misc]
        extra="allow",
        json_schema_extra={
            "additionalProperties": {
                "description": "A custom attribute: text, number, true/false, null or a list."
            },
            "examples": [
                {
                    "external_id": "u-1001",
                    "email": "ada@example.com",
                    "ads_tracking_enabled": True,
                    "tier": "gold",
                }
            ],
        },
    )

    external_id: Required[ExternalId]
    email: Annotated[OptionalText, Field(description='An email address; null or "" clears it.')]
    ios_idfa: Annotated[OptionalText, Field(description="iOS IDFA (a UUID); null clears it.")]
    android_gaid: Annotated[
        OptionalText, Field(description="Android GAID (a UUID); null clears it.")
    ]
    ads_tracking_enabled: Annotated[
        Any,
        WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "null"}]}),
        Field(description=ADS_TRACKING_DESCRIPTION),
    ]


class EventIn(BaseModel):
    """A custom event: it makes the customer enter the active canvases that wait for it."""

    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    time: datetime | None = Field(
        None, description="When it happened (ISO 8601). Accepted, not stored: entry is on receipt."
    )
    properties: dict[str, Any] = Field(default_factory=dict, description="Accepted, not stored.")


class TrackIn(BaseModel):
    """Customers' attributes (applied first) and custom events: at most 1,000 objects in all."""

    model_config = ConfigDict(extra="forbid")

    attributes: list[CustomerAttributesIn] = Field(default_factory=list)
    events: list[EventIn] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _at_most_max_objects(cls, data: Any) -> Any:
        return _count_objects(data, "attributes", "events")


class TrackOut(BaseModel):
    """What a users/track call did."""

    customers_created: int
    customers_updated: int
    events_processed: int
    canvas_entries: int = Field(description="Enrollments made by the events, over all canvases.")


class RecipientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId


class TriggerIn(BaseModel):
    """Customers to enter into an active, API-triggered canvas: at most 1,000 recipients."""

    model_config = ConfigDict(extra="forbid")

    # Strict: true is not canvas 1, nor 2.0 canvas 2.
    canvas_id: StrictInt
    recipients: list[RecipientIn]

    @model_validator(mode="before")
    @classmethod
    def _at_most_max_objects(cls, data: Any) -> Any:
        return _count_objects(data, "recipients")


class TriggerOut(BaseModel):
    """What a canvas/trigger/send call did."""

    canvas_id: int
    recipients: int = Field(description="Distinct customers named.")
    entered: int
    not_entered: int = Field(
        description="Already in the canvas, not allowed to re-enter, or outside its segment."
    )


class DeleteIn(BaseModel):
    """Customers to erase, by external_id: at most 1,000. Unknown ids are ignored."""

    model_config = ConfigDict(extra="forbid")

    external_ids: list[ExternalId]

    @model_validator(mode="before")
    @classmethod
    def _at_most_max_objects(cls, data: Any) -> Any:
        return _count_objects(data, "external_ids")


class DeleteOut(BaseModel):
    customers_deleted: int


class FieldErrorOut(BaseModel):
    loc: list[str | int] = Field(description='Path to the field, e.g. ["attributes", 3, "email"].')
    message: str


class ErrorOut(BaseModel):
    message: str
    errors: list[FieldErrorOut] = Field(default_factory=list)


class MessageOut(BaseModel):
    message: str
