app_name = "habilitations"

urlpatterns: list = []
