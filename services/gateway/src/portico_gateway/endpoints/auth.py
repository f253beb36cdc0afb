"""Accounts and sessions: signup, login (sets the session cookie), logout, me."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from portico_gateway import service
from portico_gateway.cookies import cookie_secure
from portico_gateway.dependencies import DB, CurrentPrincipal, State, client_address
from portico_gateway.rate_limits import Rule
from portico_gateway.schemas import LoginRequest, SignupRequest, UserView

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/signup", status_code=201)
async def signup(body: SignupRequest, request: Request, db: DB, state: State) -> UserView:
    """Create an account. The password needs at least 8 characters; the email is lowercased."""
    await state.rate_limits.hit(Rule.SIGNUP_IP, client_address(request))
    await state.rate_limits.hit(Rule.SIGNUP_ACCOUNT, body.email)
    user = await service.signup(db, state.passwords, body.email, body.password)
    return UserView(
        id=user.id, tenant_id=user.tenant_id, email=user.email, created_at=user.created_at
    )


@router.post("/auth/login")
async def login(
    body: LoginRequest, request: Request, db: DB, state: State, response: Response
) -> UserView:
    """Check email and password and set the HttpOnly session cookie."""
    settings = state.settings
    await state.rate_limits.hit(Rule.LOGIN_IP, client_address(request))
    await state.rate_limits.hit(Rule.LOGIN_ACCOUNT, body.email)
    user, token = await service.login(
        db, state.passwords, body.email, body.password, settings.session_ttl_s
    )
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=settings.session_ttl_s,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(settings.session_cookie_secure, request),
        path="/",
    )
    return UserView(
        id=user.id, tenant_id=user.tenant_id, email=user.email, created_at=user.created_at
    )


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, db: DB, state: State) -> Response:
    """End the session of the cookie (if any) and clear the cookie. Always succeeds."""
    name = state.settings.session_cookie_name
    token = request.cookies.get(name)
    if token:
        await service.logout(db, token)
    response = Response(status_code=204)
    secure = cookie_secure(state.settings.session_cookie_secure, request)
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=secure)
    return response


@router.get("/me")
async def me(principal: CurrentPrincipal) -> UserView:
    return UserView(
        id=principal.user_id,
        tenant_id=principal.tenant_id,
        email=principal.email,
        created_at=principal.created_at,
    )
