from django.urls import path

from core import views

urlpatterns = [
    path("api/", views.index),
    path("api/slow/", views.slow),
    path("api/release/", views.release),
]
