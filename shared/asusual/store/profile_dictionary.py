"""The preset dictionary a profile's ``data`` is compressed with (zlib's ``zdict``).

A profile is a few KB of JSON whose keys and shapes repeat from one profile to the next (``"at"``,
``"msg"``, ``"subscriptions"``, ``"orders"``...), but zlib learns them anew in each small document.
Compressed against a dictionary that already holds them — a synthetic profile of every common
part, generic values, no real person — a typical profile shrinks by about 40 % (1,283 → 788 bytes
on the capacity benchmark's customers), below the 1 KB of one write unit.

A compressed stream names its dictionary by the dictionary's Adler-32 in its header, so reading
never guesses: ``DICTIONARIES`` holds every dictionary ever written with, and an item compressed
without one (before this one existed) still reads. **Never change a dictionary**: items written
with it would become unreadable. Add a new one, make it ``CURRENT``, keep the old.
"""

from __future__ import annotations

import zlib

PROFILE_V1 = (
    '{"profile_id":"p_0123456789abcdef01234567","version":21,"created_at":"2026-11-09T09:03:20Z'
    '","parts":{"p_0123456789abcdef01234567":{"traits":{"birthday":{"value":"1967-01-26","at":"'
    '2026-11-23T09:26:12Z","msg":"04833135-b107-4115-809c-735b0f41b96d"},"email":{"value":"anna'
    '@example.com","at":"2026-11-23T09:26:12Z","msg":"04833135-b107-4115-809c-735b0f41b96d"},"f'
    'irst_name":{"value":"Анна","at":"2026-11-23T09:26:12Z","msg":"04833135-b107-4115-809c-735b'
    '0f41b96d"},"last_name":{"value":"Иванова","at":"2026-11-23T09:26:12Z","msg":"04833135-b107'
    '-4115-809c-735b0f41b96d"},"loyalty_points":{"value":315,"at":"2026-11-23T09:26:12Z","msg":'
    '"04833135-b107-4115-809c-735b0f41b96d"},"phone":{"value":"+79161234567","at":"2026-11-23T0'
    '9:26:12Z","msg":"04833135-b107-4115-809c-735b0f41b96d"}},"subscriptions":{"email.marketing'
    '":{"value":{"subscribed":true,"consent_version":null,"source_id":"web_local"},"at":"2026-1'
    '1-23T09:26:12Z","msg":"04833135-b107-4115-809c-735b0f41b96d"},"sms.marketing":{"value":{"s'
    'ubscribed":false,"consent_version":null,"source_id":"web_local"},"at":"2026-11-23T09:26:12'
    'Z","msg":"04833135-b107-4115-809c-735b0f41b96d"}},"context_locale":{"value":"ru-RU","at":"'
    '2026-11-23T09:36:36Z","msg":"809c9efd-593e-4088-9643-be46d833821a"},"context_timezone":{"v'
    'alue":"Europe/Moscow","at":"2026-11-23T09:36:36Z","msg":"809c9efd-593e-4088-9643-be46d8338'
    '21a"},"context_utc_offset":null,"source_timezone":null,"first_seen":"2026-11-09T09:00:28Z"'
    ',"last_seen":"2026-11-23T09:36:36Z","channels":["web"],"active_days":{"web":["2026-11-09",'
    '"2026-11-18","2026-11-23","2026-11-13"]},"identifiers":[{"kind":"phone","value":"+79161234'
    '567"},{"kind":"anonymous_id","value":"33a9b4bb-068f-4849-b98f-7a0dda23cea1"},{"kind":"user'
    '_id","value":"u-1"},{"kind":"email","value":"anna@example.com"}],"orders":{"o-5563f41e-d66'
    '0":{"order_id":"o-5563f41e-d660","at":"2026-11-13T09:00:28Z","msg":"03a2f7c9-d985-443c-b35'
    'a-2c1b87d168ed","total":6721.0,"currency":"RUB","channel":"web","products":[{"product_id":'
    '"sku-1","quantity":3.0,"price":939.0,"name":"","category":""},{"product_id":"sku-1","quant'
    'ity":3.0,"price":1013.0,"name":"","category":""},{"product_id":"sku-1","quantity":1.0,"pri'
    'ce":865.0,"name":"","category":""}]},"o-5a4796ba-000a":{"order_id":"o-5a4796ba-000a","at":'
    '"2026-11-23T09:35:18Z","msg":"eb2bd2ac-7db3-45ea-8d6e-4d27c2364c4c","total":4908.0,"curren'
    'cy":"RUB","channel":"web","products":[{"product_id":"sku-1","quantity":2.0,"price":828.0,"'
    'name":"","category":""},{"product_id":"sku-1","quantity":3.0,"price":606.0,"name":"","cate'
    'gory":""},{"product_id":"sku-1","quantity":2.0,"price":717.0,"name":"","category":""}]},"o'
    '-7d54746b-29b7":{"order_id":"o-7d54746b-29b7","at":"2026-11-23T09:35:36Z","msg":"06ff785f-'
    '3373-4538-b6b0-136211b3a3f5","total":1809.0,"currency":"RUB","channel":"web","products":[{'
    '"product_id":"sku-1","quantity":1.0,"price":347.0,"name":"","category":""},{"product_id":"'
    'sku-1","quantity":2.0,"price":310.0,"name":"","category":""},{"product_id":"sku-1","quanti'
    'ty":2.0,"price":421.0,"name":"","category":""}]},"o-8233d40c-06aa":{"order_id":"o-8233d40c'
    '-06aa","at":"2026-11-23T09:35:22Z","msg":"9eafed29-e35f-4faf-9c7f-23b5d68bd3fb","total":54'
    '40.0,"currency":"RUB","channel":"web","products":[{"product_id":"sku-1","quantity":2.0,"pr'
    'ice":1013.0,"name":"","category":""},{"product_id":"sku-1","quantity":3.0,"price":828.0,"n'
    'ame":"","category":""},{"product_id":"sku-1","quantity":3.0,"price":310.0,"name":"","categ'
    'ory":""}]},"o-ce9eb902-5b53":{"order_id":"o-ce9eb902-5b53","at":"2026-11-23T09:36:36Z","ms'
    'g":"809c9efd-593e-4088-9643-be46d833821a","total":5884.0,"currency":"RUB","channel":"web",'
    '"products":[{"product_id":"sku-1","quantity":3.0,"price":421.0,"name":"","category":""},{"'
    'product_id":"sku-1","quantity":2.0,"price":791.0,"name":"","category":""},{"product_id":"s'
    'ku-1","quantity":3.0,"price":1013.0,"name":"","category":""}]},"o-ff127a16-f25a":{"order_i'
    'd":"o-ff127a16-f25a","at":"2026-11-23T09:32:56Z","msg":"dd5419b4-c82b-4282-84e6-acbc53d98e'
    '95","total":6069.0,"currency":"RUB","channel":"web","products":[{"product_id":"sku-1","qua'
    'ntity":3.0,"price":1050.0,"name":"","category":""},{"product_id":"sku-1","quantity":2.0,"p'
    'rice":384.0,"name":"","category":""},{"product_id":"sku-1","quantity":3.0,"price":717.0,"n'
    'ame":"","category":""}]}},"anonymous_ties":{"33a9b4bb-068f-4849-b98f-7a0dda23cea1":["user_'
    'id#u-1"]},"views":{"sku-1":{"at":["2026-11-23T09:17:18Z"],"category":"","category_at":"202'
    '6-11-23T09:17:18Z"},"sku-1":{"at":["2026-11-23T09:19:50Z"],"category":"","category_at":"20'
    '26-11-23T09:19:50Z"},"sku-1":{"at":["2026-11-23T09:21:24Z","2026-11-23T09:20:04Z"],"catego'
    'ry":"","category_at":"2026-11-23T09:21:24Z"}},"cart":{"sku-1":{"at":"2026-11-23T09:11:40Z"'
    ',"msg":"1cb9bb26-da14-49ae-b9c3-b8a3a41656ef","added":true,"quantity":1.0,"name":"","categ'
    'ory":""},"sku-1":{"at":"2026-11-23T09:14:54Z","msg":"8ff1f01a-2b5c-4b99-abf1-321a26260b75"'
    ',"added":true,"quantity":1.0,"name":"","category":""}}}},"apart_from":[],"merges":[],"merg'
    'ed_into":null,"segments":{},"segments_due":null,"listed":true}'
).encode()

DICTIONARIES: dict[int, bytes] = {zlib.adler32(d): d for d in (PROFILE_V1,)}
CURRENT = PROFILE_V1
