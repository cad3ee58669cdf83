"""factory-boy factories for the core models."""

from datetime import UTC

import factory
from allauth.account.models import EmailAddress

from canvas.models import Canvas, Customer, Membership, Role, Step, User, Workspace
from partners.models import PinterestAdAccount, PinterestConnection
from partners.pinterest.parsing import parse_token_set

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(user, create, extracted, **kwargs):
        """Factory people confirmed their address (allauth), unless verified=False."""
        if create and extracted is not False:
            EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MARKETER


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    workspace = factory.SubFactory(WorkspaceFactory)
    external_id = factory.Sequence(lambda n: f"cust-{n}")
    email = factory.LazyAttribute(lambda c: f"{c.external_id}@example.com")


def customers_bulk(workspace: Workspace, count: int, prefix: str = "c", **fields) -> list[int]:
    """Create `count` customers in one statement (external ids prefix0…); returns their ids."""
    Customer.objects.bulk_create(
        [Customer(workspace=workspace, external_id=f"{prefix}{i}", **fields) for i in range(count)]
    )
    return list(
        Customer.objects.filter(workspace=workspace, external_id__startswith=prefix)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


class CanvasFactory(factory.django.DjangoModelFactory):
    """A draft canvas; pass status="active" (and entry_type=…) for one that takes entries."""

    class Meta:
        model = Canvas

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Canvas {n}")


class DelayStepFactory(factory.django.DjangoModelFactory):
    """A configured Delay step (no wait by default), appended to its canvas."""

    class Meta:
        model = Step

    canvas = factory.SubFactory(CanvasFactory)
    kind = "delay"
    position = factory.LazyAttribute(lambda step: step.canvas.steps.count() + 1)
    config = factory.Dict({"amount": 0, "unit": "minutes"})


def canvas_with_delays(workspace: Workspace, *delays: tuple[int, str], **fields) -> Canvas:
    """A canvas whose steps are Delays of (amount, unit) in order."""
    canvas = CanvasFactory(workspace=workspace, **fields)
    for amount, unit in delays:
        DelayStepFactory(canvas=canvas, config={"amount": amount, "unit": unit})
    return canvas


class PinterestConnectionFactory(factory.django.DjangoModelFactory):
    """A workspace's Pinterest connection; pass `tokens=` a sandbox token response to store it."""

    class Meta:
        model = PinterestConnection
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    pinterest_user_id = "900000000000000001"  # the sandbox's default user
    pinterest_username = "sandbox_marketer"
    scopes = "ads:read,ads:write,user_accounts:read"
    connected_at = factory.Faker("date_time_this_month", tzinfo=UTC)

    @factory.post_generation
    def tokens(obj, create, extracted, **kwargs):  # noqa: N805 - factory-boy hook
        if extracted:
            obj.set_tokens(parse_token_set(extracted))
            obj.token_version += 1
        if create:
            obj.save()


class PinterestAdAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PinterestAdAccount

    connection = factory.SubFactory(PinterestConnectionFactory)
    ad_account_id = factory.Sequence(lambda n: str(549755800000 + n))
    name = factory.Sequence(lambda n: f"Ad account {n}")
    country = "US"
    currency = "USD"
    permissions = factory.LazyFunction(lambda: ["OWNER"])
    connected_at = factory.Faker("date_time_this_month", tzinfo=UTC)


def customers_csv(rows: int, bad_emails: frozenset[int] = frozenset()) -> bytes:
    """An import file of customers c0… with an email each, malformed for the rows in bad_emails."""
    lines = ["external_id,email"] + [
        f"c{i},c{i}@example" if i in bad_emails else f"c{i},c{i}@example.com" for i in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()
