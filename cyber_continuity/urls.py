app_name = "cyber_continuity"

urlpatterns: list = []
