app_name = "contouring"

urlpatterns: list = []
