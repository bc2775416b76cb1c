from django.urls import path

from djangoproj import views

urlpatterns = [
    path("hello/<str:name>/", views.hello),
    path("form/", views.form),
    path("json/", views.as_json),
    path("stream/", views.stream),
]
