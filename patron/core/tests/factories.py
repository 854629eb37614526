import factory
from factory.django import DjangoModelFactory

from patron.core.models import ApiToken, CustomFieldDefinition, Role, Team, User


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


def role(slug: str) -> Role:
    return Role.objects.get(slug=slug)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = factory.LazyFunction(lambda: role("sales_rep"))
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class CustomFieldFactory(DjangoModelFactory):
    class Meta:
        model = CustomFieldDefinition

    object_type = "contact"
    name = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda o: o.name.replace("_", " ").title())
    field_type = "text"


class ApiTokenFactory(DjangoModelFactory):
    class Meta:
        model = ApiToken
