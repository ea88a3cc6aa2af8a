from django.urls import include, path

from accounts.views import account, api_accesses, auth, roles, two_factor, users

users_patterns = ([
    path("", users.UserListView.as_view(), name="list"),
    path("new/", users.UserCreateView.as_view(), name="create"),
    path("<int:pk>/edit/", users.UserUpdateView.as_view(), name="edit"),
    path("<int:pk>/delete/", users.UserDeleteView.as_view(), name="delete"),
    path("roles/", roles.RoleListView.as_view(), name="roles"),
    path("roles/new/", roles.RoleCreateView.as_view(), name="role_create"),
    path("roles/<int:pk>/", roles.RoleDetailView.as_view(), name="role_detail"),
    path("roles/<int:pk>/edit/", roles.RoleUpdateView.as_view(), name="role_edit"),
    path("roles/<int:pk>/delete/", roles.RoleDeleteView.as_view(), name="role_delete"),
    path("departments/", users.DepartmentListView.as_view(), name="departments"),
], "users")

api_access_patterns = ([
    path("", api_accesses.ApiAccessListView.as_view(), name="list"),
    path("new/", api_accesses.ApiAccessCreateView.as_view(), name="create"),
    path("<int:pk>/edit/", api_accesses.ApiAccessUpdateView.as_view(), name="edit"),
    path("<int:pk>/regenerate/", api_accesses.ApiAccessRegenerateView.as_view(), name="regenerate"),
    path("<int:pk>/delete/", api_accesses.ApiAccessDeleteView.as_view(), name="delete"),
], "api_accesses")

account_patterns = ([
    path("", account.SettingsView.as_view(), name="settings"),
    path("avatar/", account.AvatarView.as_view(), name="avatar"),
    path("security/", account.SecurityView.as_view(), name="security"),
    path("preferences/", account.PreferencesView.as_view(), name="preferences"),
    path("delete/", account.DeleteAccountView.as_view(), name="delete"),
    path("security/two-factor/send/", two_factor.SendCodeView.as_view(), name="two_factor_send"),
    path("security/two-factor/confirm/", two_factor.ConfirmCodeView.as_view(), name="two_factor_confirm"),
    path("security/two-factor/resend/", two_factor.ResendCodeView.as_view(), name="two_factor_resend"),
    path("security/two-factor/cancel/", two_factor.CancelCodeView.as_view(), name="two_factor_cancel"),
    path("security/two-factor/disable/", two_factor.DisableView.as_view(), name="two_factor_disable"),
    path("generate-password/", account.generate_password_view, name="generate_password"),
], "account")

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("login/code/", auth.LoginCodeView.as_view(), name="login_code"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("password/change-required/", auth.PasswordChangeRequiredView.as_view(), name="password_change_required"),
    path("password/reset/", auth.PasswordResetRequestView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth.PasswordResetSentView.as_view(), name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", auth.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("users/", include(users_patterns)),
    path("api-accesses/", include(api_access_patterns)),
    path("account/", include(account_patterns)),
]
