import factory
from django.contrib.auth import get_user_model

from org.models import Outlet, StaffProfile, Unit
from org.roles import Role

PASSWORD = "correct-horse-9"


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"B{n + 1:02d}")
    name = factory.LazyAttribute(lambda o: f"{o.code}行社")
    name_en = factory.LazyAttribute(lambda o: f"{o.code} Branch")
    kind = Unit.Kind.BRANCH


class OutletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Outlet

    unit = factory.SubFactory(UnitFactory)
    code = factory.Sequence(lambda n: f"O-{n:04d}")
    name = factory.Sequence(lambda n: f"网点{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "测试"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_staff(role: str, *, unit: Unit | None = None, username: str | None = None):
    """A user with a staff profile of ``role`` (unit staff get a unit if none is given)."""
    if role == Role.UNIT_STAFF and unit is None:
        unit = UnitFactory()
    user = UserFactory(username=username or f"{role}-{UserFactory._meta.model.objects.count() + 1}")
    if role == Role.MAINTAINER:
        user.is_staff = user.is_superuser = True
        user.save()
    StaffProfile.objects.create(user=user, role=role, unit=unit)
    return user
