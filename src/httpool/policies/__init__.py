"""What a request may ask for beyond sending it: the policies.

Each module holds one: decoding (Content-Encoding), forms (data= and files=
bodies), auth (Basic, Digest, callables), cookies (a pool's jar), redirects
(the next request after a 3xx), retry (httpool.Retry: which statuses and
errors a request is sent again for, and the waits), and flow (a request's
policies run around the engine, the same way for every API). A request that uses none of them never
reaches this package (see httpool._request).
"""
