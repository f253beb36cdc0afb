from tests.gateway.test_database_down import *  # noqa

async def test_pipe(gateway, own_database):
    user = await new_user(gateway)
    await own_database.go_down()
    print("PIPE", await _pipelined(user.base_url, user.cookie_header, 3))
