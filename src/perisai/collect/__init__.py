"""Live collection of Telegram groups with Telethon (read-only user account).

Telethon is an optional extra (`pip install 'perisai[collect]'`): importing this package does
not need it; `client.require_telethon()` says clearly when it is missing. The collector itself
is `perisai.collect.collector.collect`.
"""
