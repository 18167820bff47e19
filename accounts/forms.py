from django import forms

from accounts.models import User


class ProfileForm(forms.ModelForm[User]):
    """What a person may change about themselves: their name, language and time zone."""

    class Meta:
        model = User
        fields = ["full_name", "language", "time_zone"]
