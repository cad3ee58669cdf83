"""factory-boy factories for the core models."""

from datetime import UTC

import factory

from canvas.models import Customer, Membership, Role, User, Workspace
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
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 - factory-boy hook
        if create:
            obj.save()


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
    selected = True
    connected_at = factory.Faker("date_time_this_month", tzinfo=UTC)
