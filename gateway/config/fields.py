"""The typed shape of a resolved configuration: one annotated attribute per option.

GENERATED from the option table by ``python -m gateway.config.gen_fields``: do not edit by hand (the test
``tests/unit/config/test_config_fields.py`` fails until this file matches the table).  Each attribute's
comment is the option's help, first sentence.
"""

from __future__ import annotations

from typing import List, Optional, Tuple


class ConfigFields:
    """Every option of ``gateway/config/options.py`` as a typed attribute; :class:`Config` inherits them."""

    __slots__ = ()

    #: --http-socket: bind ADDR (host:port, :port or [ipv6]:port) and speak HTTP/1.x to clients; repeat for several addre…
    http_socket: List[str]
    #: --socket: bind ADDR (host:port, :port, [ipv6]:port or a UNIX socket path) and speak the uwsgi protocol (nginx…
    socket: List[str]
    #: --fastcgi-socket: bind ADDR (host:port, :port or a UNIX socket path) and speak FastCGI (nginx fastcgi_pass); repeat f…
    fastcgi_socket: List[str]
    #: --scgi-socket: bind ADDR (host:port, :port or a UNIX socket path) and speak SCGI (nginx scgi_pass); repeat for sev…
    scgi_socket: List[str]
    #: --protocol: what the --socket addresses speak: uwsgi (the default), http, fastcgi or scgi
    protocol: str
    #: --reuse-port: SO_REUSEPORT on the TCP sockets bound: another instance may bind the same port (the kernel spreads…
    reuse_port: bool
    #: --freebind: IP_FREEBIND on the TCP sockets bound: bind an address this host does not have (yet), e.g
    freebind: bool
    #: --so-keepalive: TCP keepalive probes on client connections (SO_KEEPALIVE), so dead peers are noticed
    so_keepalive: bool
    #: --tcp-nodelay: accepted: gateway always sets TCP_NODELAY on TCP connections
    tcp_nodelay: bool
    #: --chmod-socket: permissions of the UNIX socket files bound, in octal (660: nginx in the group may connect)
    chmod_socket: Optional[int]
    #: --chown-socket: owner (and group) of the UNIX socket files bound, names or numbers
    chown_socket: Optional[str]
    #: --umask: the process umask, in octal (022), set before any socket or file is created
    umask: Optional[int]
    #: --http: run uWSGI's HTTP router: a separate process on ADDR that speaks HTTP/1.1 to clients and forwards ea…
    http: List[str]
    #: --https: the HTTP router on ADDR behind TLS (certificate and key files in PEM; an optional OpenSSL cipher st…
    https: List[str]
    #: --http-to-https: a router listener on ADDR that answers every request with a 301 to the same URL over https:// (nami…
    http_to_https: List[str]
    #: --http-to: the uwsgi address (host:port, a UNIX path or @abstract) the HTTP router forwards to; repeat for rou…
    http_to: List[str]
    #: --shared-socket: bind ADDR in the master before privileges are dropped, to be served by --http-socket =N or --socket…
    shared_socket: List[str]
    #: --http11-socket: the same as --http-socket (which already keeps HTTP/1.1 connections alive)
    http11_socket: List[str]
    #: --https-socket: an --http-socket behind TLS, terminated in the worker (certificate and key in PEM, an optional Open…
    https_socket: List[str]
    #: --abstract-socket: every UNIX socket name is bound in Linux's abstract namespace (/tmp/a.sock as @/tmp/a.sock: nothing…
    abstract_socket: bool
    #: --no-defer-accept: accepted: gateway never sets TCP_DEFER_ACCEPT (uWSGI does by default)
    no_defer_accept: bool
    #: --tcp-fast-open: TCP_FASTOPEN with this queue length on the TCP sockets bound
    tcp_fast_open: int
    #: --socket-sndbuf: SO_SNDBUF of the sockets bound (accepted connections inherit it)
    socket_sndbuf: int
    #: --socket-rcvbuf: SO_RCVBUF of the sockets bound (accepted connections inherit it)
    socket_rcvbuf: int
    #: --so-send-timeout: seconds a response write may wait for the client to take bytes before the connection is dropped (al…
    so_send_timeout: Optional[int]
    #: --map-socket: serve worker socket N (0-based) only in the workers listed (1-based ids)
    map_socket: List[str]
    #: --http-socket-modifier1: modifier1 of the requests of --http-socket: 0 (WSGI) or 30 (PATH_INFO without SCRIPT_NAME)
    http_socket_modifier1: int
    #: --https-socket-modifier1: the same for --https-socket
    https_socket_modifier1: int
    #: --fastcgi-modifier1: the same for --fastcgi-socket
    fastcgi_modifier1: int
    #: --scgi-modifier1: the same for --scgi-socket
    scgi_modifier1: int
    #: --http-socket-modifier2: accepted: the Python request handler ignores modifier2 (as uWSGI's)
    http_socket_modifier2: int
    #: --https-socket-modifier2: accepted: the Python request handler ignores modifier2 (as uWSGI's)
    https_socket_modifier2: int
    #: --fastcgi-modifier2: accepted: the Python request handler ignores modifier2 (as uWSGI's)
    fastcgi_modifier2: int
    #: --scgi-modifier2: accepted: the Python request handler ignores modifier2 (as uWSGI's)
    scgi_modifier2: int
    #: --honour-range: answer a single-range Range header (206, or 416 when unsatisfiable) on static files and wsgi.file_w…
    honour_range: bool
    #: --fastcgi-nph-socket: --fastcgi-socket in NPH mode: the answer starts with an HTTP status line (HTTP/1.1 200 OK) instead…
    fastcgi_nph_socket: List[str]
    #: --scgi-nph-socket: --scgi-socket in NPH mode: the answer starts with an HTTP status line
    scgi_nph_socket: List[str]
    #: --tcp-fast-open-client: not supported yet: uWSGI option, not supported yet by gateway
    tcp_fast_open_client: bool
    #: --http-websockets: accepted: the --http router always tunnels an upgraded connection (101) both ways
    http_websockets: bool
    #: --http-chunked-input: accepted: the --http router always streams a chunked request body to the worker, where wsgi.input d…
    http_chunked_input: bool
    #: --http-manage-expect: the --http router answers Expect: 100-continue itself (always); with BYTES (from 2: 1 is uWSGI's 'o…
    http_manage_expect: Optional[int]
    #: --http-headers-timeout: --http router: seconds a request head may take (408 after); 0: --socket-timeout
    http_headers_timeout: int
    #: --http-buffer-size: --http router: maximum size of a request head; 0: --buffer-size
    http_buffer_size: int
    #: --http-server-name-as-http-host: --http router: SERVER_NAME is the request's Host header, as sent (port included, as uWSGI)
    http_server_name_as_http_host: bool
    #: --http-quiet: --http router: do not log failed connections to workers (502/504 still answered)
    http_quiet: bool
    #: --http-uid: --http router processes run as USER (name or number), after their sockets are bound
    http_uid: Optional[str]
    #: --http-gid: --http router processes run as GROUP (name or number), after their sockets are bound
    http_gid: Optional[str]
    #: --http-auto-gzip: --http router: an answer with the header uWSGI-Encoding: gzip and no Content-Encoding goes gzipped…
    http_auto_gzip: bool
    #: --http-harakiri: the master kills (and respawns) a --http router process whose event loop has not come back for SECO…
    http_harakiri: int
    #: --http-post-buffering: --http router: read a request's whole body before a worker is asked (BYTES in memory, the rest in a…
    http_post_buffering: int
    #: --http-post-buffering-dir: accepted: a no-op in uWSGI too (the files go to TMPDIR)
    http_post_buffering_dir: Optional[str]
    #: --http-fallback: --http router: a uwsgi node (host:port, a UNIX path or @abstract) tried, in the order given, when n…
    http_fallback: List[str]
    #: --http-stats: --http router: a stats server on ADDR (host:port or a UNIX path) answering each connection with uWS…
    http_stats: Optional[str]
    #: --http-use-socket: --http router: forward to worker socket N (0 alone; numbered as --map-socket), which must be a uwsg…
    http_use_socket: Optional[int]
    #: --http-events: accepted: uWSGI's size of its event batch; the router's loop has no such setting
    http_events: int
    #: --http-subscription-server: --http router: receive uWSGI subscription announces on this UDP address (or UNIX datagram path) and…
    http_subscription_server: List[str]
    #: --http-subscription-fallback-key: --http router: the subscription key used when a request's Host has no node
    http_subscription_fallback_key: Optional[str]
    #: --http-raw-body: not supported yet: uWSGI option, not supported yet by gateway
    http_raw_body: bool
    #: --http-zerg: not supported yet: uWSGI option, not supported yet by gateway
    http_zerg: Optional[str]
    #: --http-resubscribe: not supported yet: uWSGI option, not supported yet by gateway
    http_resubscribe: Optional[str]
    #: --http-use-pattern: not supported yet: uWSGI option, not supported yet by gateway
    http_use_pattern: Optional[str]
    #: --http-use-base: not supported yet: uWSGI option, not supported yet by gateway
    http_use_base: Optional[str]
    #: --http-use-code-string: not supported yet: uWSGI option, not supported yet by gateway
    http_use_code_string: Optional[str]
    #: --http-gracetime: not supported yet: uWSGI option, not supported yet by gateway
    http_gracetime: Optional[str]
    #: --http-cheap: not supported yet: uWSGI option, not supported yet by gateway
    http_cheap: bool
    #: --http-stud-prefix: not supported yet: uWSGI option, not supported yet by gateway
    http_stud_prefix: Optional[str]
    #: --http-manage-rtsp: not supported yet: uWSGI option, not supported yet by gateway
    http_manage_rtsp: bool
    #: --http-manage-source: not supported yet: uWSGI option, not supported yet by gateway
    http_manage_source: bool
    #: --http-backend-http: not supported yet: uWSGI option, not supported yet by gateway
    http_backend_http: bool
    #: --https2: not supported yet: uWSGI option, not supported yet by gateway
    https2: Optional[str]
    #: --http-use-cache: not supported yet: uWSGI option, not supported yet by gateway
    http_use_cache: Optional[str]
    #: --ssl-socket: a --socket (uwsgi protocol) behind TLS, terminated in the worker; HTTPS comes from the packet's var…
    ssl_socket: List[str]
    #: --sni: a certificate chosen when a TLS client asks for server name NAME (exact match), on every --https, -…
    sni: List[str]
    #: --sni-regexp: the same for the server names REGEXP matches (searched, after the exact names)
    sni_regexp: List[str]
    #: --sni-dir: for a server name no --sni matches, DIR/NAME.crt and DIR/NAME.key (and DIR/NAME.ca as client CA whe…
    sni_dir: Optional[str]
    #: --sni-dir-ciphers: the OpenSSL cipher string of the --sni-dir contexts
    sni_dir_ciphers: Optional[str]
    #: --ssl-verbose: log the SNI choices and the fatal TLS alerts sent to clients (a refused client certificate, no shar…
    ssl_verbose: bool
    #: --ssl-option: a raw OpenSSL option number OR'ed into every server context (SSL_OP_*)
    ssl_option: List[int]
    #: --ssl-sessions-timeout: lifetime of cached TLS sessions (default: OpenSSL's, 7200)
    ssl_sessions_timeout: Optional[int]
    #: --ssl-verify-depth: maximum length of a client's certificate chain verified against a client CA (alone: 1; default: Ope…
    ssl_verify_depth: Optional[int]
    #: --ssl-tmp-dir: a certificate, key or CA given as PEM text (-----BEGIN ...) is written to a file in DIR to be loaded
    ssl_tmp_dir: Optional[str]
    #: --ssl-enable-tlsv1: accept TLS 1.0 and 1.1 clients too (default: TLS 1.2+), if the local OpenSSL and its security level…
    ssl_enable_tlsv1: bool
    #: --https-session-context: --https router: the TLS session id context (at most 32 bytes; default: Python's)
    https_session_context: Optional[str]
    #: --ssl-enable-sslv3: not supported yet: uWSGI option, not supported yet by gateway
    ssl_enable_sslv3: bool
    #: --ssl-sessions-use-cache: not supported yet: uWSGI option, not supported yet by gateway
    ssl_sessions_use_cache: Optional[str]
    #: --wsgi-file: load the WSGI application from FILE, run as a module; its callable is --callable
    wsgi_file: Optional[str]
    #: --module: import MODULE and use CALLABLE (default: --callable); MODULE:factory() calls a zero-argument factory
    module: Optional[str]
    #: --callable: name of the WSGI callable in --wsgi-file or --module
    callable: str
    #: --chdir: change to DIR before loading the application
    chdir: Optional[str]
    #: --chdir2: change each worker to DIR after the application is loaded
    chdir2: Optional[str]
    #: --pythonpath: add DIR (a glob pattern is allowed) to sys.path; repeatable (the early- spellings too: every entry…
    pythonpath: List[str]
    #: --env: set an environment variable before loading the application; repeatable (ienv: also at once, for the…
    env: List[str]
    #: --virtualenv: use the Python virtualenv in DIR
    virtualenv: Optional[str]
    #: --lazy-apps: load the application in each worker after fork, after the worker's own IOLoop exists, instead of on…
    lazy_apps: bool
    #: --paste: load the app with PasteDeploy's loadapp(SPEC) (Pyramid and co; needs the PasteDeploy package); inst…
    paste: Optional[str]
    #: --ini-paste: read FILE's [uwsgi] section as --ini does, and load its app with --paste config:FILE
    ini_paste: List[str]
    #: --ini-paste-logged: --ini-paste FILE, and FILE's logging sections configure Python's logging (--paste-logger)
    ini_paste_logged: List[str]
    #: --paste-logger: before --paste loads the app, configure Python's logging from the same file (logging.config.fileCon…
    paste_logger: bool
    #: --eval: run CODE as the app's module (named uwsgi_eval_config) and serve its --callable; instead of --wsgi-…
    eval: Optional[str]
    #: --import: import MODULE (or the file, for a path or a name ending in .py) just before the app is loaded, wher…
    import_: List[str]
    #: --shared-import: import MODULE (or a .py file) once in the master before any fork, even with --lazy-apps, so every p…
    shared_import: List[str]
    #: --pyargv: sys.argv for the app: 'uwsgi' followed by ARGS split on spaces (without it sys.argv is ['uwsgi'], a…
    pyargv: Optional[str]
    #: --unenv: remove NAME from the environment before loading the application; repeatable
    unenv: List[str]
    #: --hook-asap: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) at startup, before any socket is bound;…
    hook_asap: List[str]
    #: --exec-asap: run COMMAND with the shell at startup, before any socket is bound; a failure stops the instance
    exec_asap: List[str]
    #: --call-asap: not supported yet: uWSGI option, not supported yet by gateway
    call_asap: List[str]
    #: --hook-pre-jail: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) at startup, after the asap ones (gateway…
    hook_pre_jail: List[str]
    #: --exec-pre-jail: run COMMAND with the shell at startup, after the asap ones (gateway has no jail); a failure stops t…
    exec_pre_jail: List[str]
    #: --call-pre-jail: not supported yet: uWSGI option, not supported yet by gateway
    call_pre_jail: List[str]
    #: --hook-post-jail: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) never: uWSGI runs it after jailing, and…
    hook_post_jail: List[str]
    #: --exec-post-jail: run COMMAND with the shell never: uWSGI runs it after jailing, and gateway has no jail
    exec_post_jail: List[str]
    #: --call-post-jail: not supported yet: uWSGI option, not supported yet by gateway
    call_post_jail: List[str]
    #: --hook-in-jail: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) at startup, after the pre-jail ones (gat…
    hook_in_jail: List[str]
    #: --exec-in-jail: run COMMAND with the shell at startup, after the pre-jail ones (gateway has no jail); a failure sto…
    exec_in_jail: List[str]
    #: --call-in-jail: not supported yet: uWSGI option, not supported yet by gateway
    call_in_jail: List[str]
    #: --hook-as-root: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) just before --uid/--gid drop privileges;…
    hook_as_root: List[str]
    #: --exec-as-root: run COMMAND with the shell just before --uid/--gid drop privileges; only when started as root; a fa…
    exec_as_root: List[str]
    #: --call-as-root: not supported yet: uWSGI option, not supported yet by gateway
    call_as_root: List[str]
    #: --hook-as-user: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) just after --uid/--gid dropped privilege…
    hook_as_user: List[str]
    #: --exec-as-user: run COMMAND with the shell just after --uid/--gid dropped privileges; only when started as root; a…
    exec_as_user: List[str]
    #: --call-as-user: not supported yet: uWSGI option, not supported yet by gateway
    call_as_user: List[str]
    #: --hook-as-user-atexit: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) when the master (or the only process) ex…
    hook_as_user_atexit: List[str]
    #: --exec-as-user-atexit: run COMMAND with the shell when the master (or the only process) exits or reloads; failures are onl…
    exec_as_user_atexit: List[str]
    #: --call-as-user-atexit: not supported yet: uWSGI option, not supported yet by gateway
    call_as_user_atexit: List[str]
    #: --hook-pre-app: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) before each load of the app (in the mast…
    hook_pre_app: List[str]
    #: --exec-pre-app: run COMMAND with the shell before each load of the app (in the master, or each worker with --lazy-a…
    exec_pre_app: List[str]
    #: --call-pre-app: not supported yet: uWSGI option, not supported yet by gateway
    call_pre_app: List[str]
    #: --hook-post-app: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) after each load of the app; a failure st…
    hook_post_app: List[str]
    #: --exec-post-app: run COMMAND with the shell after each load of the app; a failure stops the instance
    exec_post_app: List[str]
    #: --call-post-app: not supported yet: uWSGI option, not supported yet by gateway
    call_post_app: List[str]
    #: --hook-post-fork: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) in each worker right after it is forked…
    hook_post_fork: List[str]
    #: --hook-accepting: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) in each worker when it is ready to accep…
    hook_accepting: List[str]
    #: --hook-accepting-once: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) in each worker when it is ready to accep…
    hook_accepting_once: List[str]
    #: --hook-accepting1: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) in worker 1 when it is ready to accept r…
    hook_accepting1: List[str]
    #: --hook-accepting1-once: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) in worker 1 when it is ready to accept,…
    hook_accepting1_once: List[str]
    #: --hook-master-start: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) in the master once the workers are forke…
    hook_master_start: List[str]
    #: --hook-as-mule: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) in each mule when it starts; a failure s…
    hook_as_mule: List[str]
    #: --hook-as-gateway: run the hook ACTION:ARGS (exec, mkdir, write, putenv, ...) in each --http/--https router process wh…
    hook_as_gateway: List[str]
    #: --hook-touch: run the hook ACTION:ARGS (in a child of the master) when FILE is touched (implies a master)
    hook_touch: List[str]
    #: --hook-emperor-start: not supported yet: uWSGI option, not supported yet by gateway
    hook_emperor_start: List[str]
    #: --hook-emperor-stop: not supported yet: uWSGI option, not supported yet by gateway
    hook_emperor_stop: List[str]
    #: --hook-emperor-reload: not supported yet: uWSGI option, not supported yet by gateway
    hook_emperor_reload: List[str]
    #: --hook-emperor-lost: not supported yet: uWSGI option, not supported yet by gateway
    hook_emperor_lost: List[str]
    #: --hook-as-vassal: not supported yet: uWSGI option, not supported yet by gateway
    hook_as_vassal: List[str]
    #: --hook-as-emperor: not supported yet: uWSGI option, not supported yet by gateway
    hook_as_emperor: List[str]
    #: --hook-as-on-demand-vassal: not supported yet: uWSGI option, not supported yet by gateway
    hook_as_on_demand_vassal: List[str]
    #: --hook-as-on-config-vassal: not supported yet: uWSGI option, not supported yet by gateway
    hook_as_on_config_vassal: List[str]
    #: --hook-as-emperor-before-vassal: not supported yet: uWSGI option, not supported yet by gateway
    hook_as_emperor_before_vassal: List[str]
    #: --hook-as-vassal-before-drop: not supported yet: uWSGI option, not supported yet by gateway
    hook_as_vassal_before_drop: List[str]
    #: --hook-as-emperor-setns: not supported yet: uWSGI option, not supported yet by gateway
    hook_as_emperor_setns: List[str]
    #: --exec-as-vassal: not supported yet: uWSGI option, not supported yet by gateway
    exec_as_vassal: List[str]
    #: --exec-as-emperor: not supported yet: uWSGI option, not supported yet by gateway
    exec_as_emperor: List[str]
    #: --mount-asap: not supported yet: uWSGI option, not supported yet by gateway
    mount_asap: List[str]
    #: --mount-pre-jail: not supported yet: uWSGI option, not supported yet by gateway
    mount_pre_jail: List[str]
    #: --mount-post-jail: not supported yet: uWSGI option, not supported yet by gateway
    mount_post_jail: List[str]
    #: --mount-in-jail: not supported yet: uWSGI option, not supported yet by gateway
    mount_in_jail: List[str]
    #: --mount-as-root: not supported yet: uWSGI option, not supported yet by gateway
    mount_as_root: List[str]
    #: --mount-as-vassal: not supported yet: uWSGI option, not supported yet by gateway
    mount_as_vassal: List[str]
    #: --mount-as-emperor: not supported yet: uWSGI option, not supported yet by gateway
    mount_as_emperor: List[str]
    #: --umount-asap: not supported yet: uWSGI option, not supported yet by gateway
    umount_asap: List[str]
    #: --umount-pre-jail: not supported yet: uWSGI option, not supported yet by gateway
    umount_pre_jail: List[str]
    #: --umount-post-jail: not supported yet: uWSGI option, not supported yet by gateway
    umount_post_jail: List[str]
    #: --umount-in-jail: not supported yet: uWSGI option, not supported yet by gateway
    umount_in_jail: List[str]
    #: --umount-as-root: not supported yet: uWSGI option, not supported yet by gateway
    umount_as_root: List[str]
    #: --umount-as-vassal: not supported yet: uWSGI option, not supported yet by gateway
    umount_as_vassal: List[str]
    #: --umount-as-emperor: not supported yet: uWSGI option, not supported yet by gateway
    umount_as_emperor: List[str]
    #: --need-app: exit with uWSGI's status 22 ('*** no app loaded
    need_app: bool
    #: --plugins: accepted for uWSGI compatibility: the plugins whose features gateway has built in (python, python3X…
    plugins: List[str]
    #: --plugins-dir: accepted: every plugin gateway offers is built in, there is nothing to load from DIR
    plugins_dir: List[str]
    #: --mount: load APP (a file ending in .py/.wsgi or containing /, else MODULE[:CALLABLE]) and serve it for requ…
    mount: List[str]
    #: --manage-script-name: pick the --mount app by the longest mountpoint prefixing PATH_INFO, and move that prefix from PATH_…
    manage_script_name: bool
    #: --optimize: Python's optimisation level (-O: no asserts; 2: no docstrings either); the server starts its interp…
    optimize: Optional[int]
    #: --vhost: virtual hosting: a --mount app is chosen by SERVER_NAME|SCRIPT_NAME (--mount www.example.org=site.p…
    vhost: bool
    #: --vhost-host: --vhost by the Host header (HTTP_HOST) instead of SERVER_NAME
    vhost_host: bool
    #: --no-default-app: a request that matches no --mount gets a 500, even with a default app
    no_default_app: bool
    #: --tornado: run the Tornado loop engine with N async cores (greenlets) per worker; needs --greenlet
    tornado: Optional[int]
    #: --greenlet: use greenlet as the suspend engine (required by --tornado)
    greenlet: bool
    #: --loop: asyncio loop under Tornado's IOLoop: asyncio or uvloop; empty or 'auto' uses uvloop when installed
    loop: str
    #: --async: not supported yet: uWSGI's generic async loop with N cores
    async_: int
    #: --threads: run the WSGI app in N OS threads per worker (blocking apps), while the worker's loop does all the s…
    threads: int
    #: --enable-threads: accepted for uWSGI compatibility: Python threads are always enabled (a no-op in uWSGI too since 2.0…
    enable_threads: bool
    #: --buffer-size: maximum size in bytes of a request head (HTTP request line and headers, or a uwsgi vars block); lar…
    buffer_size: int
    #: --limit-post: maximum request body size in bytes; 0 means unlimited
    limit_post: int
    #: --socket-timeout: seconds to wait on a client or an RPC peer
    socket_timeout: int
    #: --max-connections: client connections one worker holds at once (every --http-socket, --socket, --fastcgi-socket
    max_connections: int
    #: --body-timeout: seconds a request body may take from the app's first read, plus one per --body-min-rate bytes recei…
    body_timeout: float
    #: --discard-body-max: --http-socket and the --http router: after a response, at most BYTES of a request body the app did…
    discard_body_max: int
    #: --linger-timeout: closing a connection whose client is still sending (an unread body past --discard-body-max): our FI…
    linger_timeout: float
    #: --body-min-rate: bytes per second that extend the --body-timeout deadline by one second each; 0: the deadline is fix…
    body_min_rate: int
    #: --heap-trim-interval: every SECONDS a worker gives free heap memory back to the kernel (glibc malloc_trim) when more than…
    heap_trim_interval: float
    #: --listen: listen backlog of each socket
    listen: int
    #: --enable-proxy-protocol: --http-socket and the --http router: a connection may start with a PROXY header (HAProxy's v1 text…
    enable_proxy_protocol: bool
    #: --https-export-cert: --https with a client CA: the client's certificate also reaches the app as PEM in HTTPS_CC (HTTPS_D…
    https_export_cert: bool
    #: --http-enable-proxy-protocol: the same, for the --http router only (uWSGI's http plugin option)
    http_enable_proxy_protocol: bool
    #: --http-keepalive: seconds an idle keep-alive HTTP connection is kept open; 0 closes it after each response; alone or…
    http_keepalive: int
    #: --http-auto-chunked: accepted: the --http router always sends a body without Content-Length to an HTTP/1.1 client chunke…
    http_auto_chunked: bool
    #: --http-max-headers: maximum number of headers in a request
    http_max_headers: int
    #: --http-processes: HTTP router: run N router processes ("uWSGI http 1" to "uWSGI http N"), all accepting on the same -…
    http_processes: int
    #: --http-timeout: HTTP router: seconds without a byte from the worker (or in a tunnel, either way) before the request…
    http_timeout: int
    #: --http-connect-timeout: HTTP router: seconds to establish a connection to a worker before answering 502; 0 means --http-tim…
    http_connect_timeout: int
    #: --http-max-response-head: HTTP router: maximum size of a response head from a worker (larger: 502)
    http_max_response_head: int
    #: --allowed-modifiers: the modifier1 values the uwsgi sockets (--socket) serve; a packet of any other gets '-- unavailable…
    allowed_modifiers: Optional[List[int]]
    #: --remap-modifier: uwsgi sockets serve packets of modifier1 DST as those of SRC (0:5: a packet of modifier1 5 is a WSG…
    remap_modifier: Optional[List[Tuple[int, int]]]
    #: --http-modifier1: HTTP router: modifier1 of the uwsgi packets it sends
    http_modifier1: int
    #: --http-modifier2: HTTP router: modifier2 of the uwsgi packets it sends
    http_modifier2: int
    #: --http-var: HTTP router: add KEY=VALUE to every uwsgi packet it sends
    http_var: List[str]
    #: --http-upstream-keepalive: HTTP router: idle connections to gateway workers kept open for the next requests (a gateway-only ex…
    http_upstream_keepalive: int
    #: --http-upstream-idle: HTTP router: seconds an idle worker connection is kept (at most half of --socket-timeout, the worke…
    http_upstream_idle: float
    #: --http-upstream-max-requests: HTTP router: requests carried by one kept worker connection before it is closed, so that load sprea…
    http_upstream_max_requests: int
    #: --http-to-gateway: HTTP router: the --http-to (or --socket) upstreams are gateway workers: keep connections to them al…
    http_to_gateway: bool
    #: --socket-keepalive-max: worker: idle persistent uwsgi connections (opened by gateway's HTTP router) kept per socket, each f…
    socket_keepalive_max: int
    #: --websockets-max-size: maximum size of a received websocket message in Kbytes (uWSGI's unit; default 1024 = 1 MiB); a larg…
    websockets_max_size: int
    #: --websockets-ping-freq: send a PING to every open websocket this often
    websockets_ping_freq: int
    #: --websockets-pong-tolerance: close a websocket whose PONG has not arrived this long after our PING (a dead peer); its core then…
    websockets_pong_tolerance: int
    #: --disable-logging: do not log a line per request (errors are still logged)
    disable_logging: bool
    #: --log-4xx: with --disable-logging: still log the requests answered 4xx
    log_4xx: bool
    #: --log-5xx: with --disable-logging: still log the requests answered 5xx
    log_5xx: bool
    #: --log-slow: with --disable-logging: still log the requests that took MSECS or more
    log_slow: int
    #: --log-big: with --disable-logging: still log the responses of BYTES or more
    log_big: int
    #: --logdate: start every server log line with the time: a strftime FORMAT, or true for uWSGI's default (Fri Dec…
    logdate: Optional[str]
    #: --memory-report: the request line starts with the worker's memory, as uWSGI's: {address space usage: N bytes/NMB} {r…
    memory_report: bool
    #: --log-x-forwarded-for: the request line shows the X-Forwarded-For header instead of REMOTE_ADDR (when the request has one)
    log_x_forwarded_for: bool
    #: --logger: send every log line to this logger (repeatable: to each one): file:PATH (the first is --logto PATH)…
    logger: List[str]
    #: --req-logger: where the request lines go (the same plugins; the other lines stay with --logger/--logto): a lone f…
    req_logger: List[str]
    #: --log-socket: --logger socket:ADDR
    log_socket: List[str]
    #: --log-syslog: --logger syslog[:IDENT[,FACILITY]]
    log_syslog: List[str]
    #: --log-encoder: pass every log line through this encoder (in the order given): prefix TEXT, suffix TEXT, nl, format…
    log_encoder: List[str]
    #: --log-req-encoder: --log-encoder for the request lines of --req-logger
    log_req_encoder: List[str]
    #: --log-route: the log lines matching REGEXP go to the named logger ID only (--logger 'ID PLUGIN:ARGS'); implies -…
    log_route: List[str]
    #: --log-req-route: the request lines matching REGEXP go to the named request logger ID only
    log_req_route: List[str]
    #: --log-drain: drop the log lines matching REGEXP (not the request lines of --req-logger); implies --log-master
    log_drain: List[str]
    #: --log-filter: keep only the log lines matching one --log-filter; implies --log-master
    log_filter: List[str]
    #: --rsyslog-packet-size: rsyslog logger: the largest datagram (RFC 3164 says 1024); a longer line is cut
    rsyslog_packet_size: int
    #: --rsyslog-split-messages: rsyslog logger: send a longer line as several datagrams instead of cutting it
    rsyslog_split_messages: bool
    #: --logto: append every log line (master, workers, requests) to FILE instead of stderr; the readiness line goe…
    logto: Optional[str]
    #: --threaded-logger: accepted as uWSGI means it: the workers never wait for the log target; here that is --log-master (w…
    threaded_logger: bool
    #: --logto2: like --logto, but FILE is opened after --uid/--gid are applied (so the new user owns it); not with…
    logto2: Optional[str]
    #: --log-format: the request log line as a template of uWSGI variables: %(addr) %(user) %(ltime) %(method) %(uri) %(…
    log_format: Optional[str]
    #: --log-micros: report request times in microseconds instead of milliseconds
    log_micros: bool
    #: --log-master: the master writes the workers' (and its own) output to the log target (--logto FILE or stderr) as w…
    log_master: bool
    #: --log-master-bufsize: --log-master: the longest line written in one piece (uWSGI's default); a longer line is split into…
    log_master_bufsize: int
    #: --log-master-backlog: --log-master: bytes the master holds while the log target accepts nothing (a full pipe, a stopped t…
    log_master_backlog: int
    #: --log-maxsize: rotate the --logto file once it holds more than BYTES: it is renamed FILE.<unix time> (or --log-bac…
    log_maxsize: int
    #: --log-backupname: the name a rotated log gets (each rotation replaces the previous one) instead of FILE.<unix time>
    log_backupname: Optional[str]
    #: --touch-logrotate: rotate the --logto file (as --log-maxsize does) when FILE is touched; implies --log-master
    touch_logrotate: List[str]
    #: --touch-logreopen: reopen the --logto file when FILE is touched (after logrotate moved it away); implies --log-master
    touch_logreopen: List[str]
    #: --log-reopen: reopen the --logto file at each reload (SIGHUP); implies --log-master
    log_reopen: bool
    #: --log-prefix: start every server log line with TEXT (a strftime format allowed) and ' - '; uWSGI's --logdate unde…
    log_prefix: Optional[str]
    #: --log-format-strftime: %(ftime) in --log-format is the request's time in the --logdate/--log-prefix strftime format (else…
    log_format_strftime: bool
    #: --log-truncate: empty the --logto file at startup instead of appending to it
    log_truncate: bool
    #: --logfile-chmod: set the --logto file's permissions (octal, e.g
    logfile_chmod: Optional[int]
    #: --logfile-chown: give the --logto file to --uid/--gid (as root, before they are dropped)
    logfile_chown: bool
    #: --log-zero: with --disable-logging: still log the responses without a body
    log_zero: bool
    #: --log-sendfile: with --disable-logging: still log the responses sent from a file (wsgi.file_wrapper, static files)
    log_sendfile: bool
    #: --log-ioerror: with --disable-logging: still log the requests whose body could not be read (cut short, timed out,…
    log_ioerror: bool
    #: --log-master-stream: accepted: gateway's log pipes are streams already, whose lines the master reassembles (uWSGI's defa…
    log_master_stream: bool
    #: --log-master-req-stream: accepted: as --log-master-stream, for the request-log pipes
    log_master_req_stream: bool
    #: --alarm: declare the alarm NAME: cmd:COMMAND (run, the message on its stdin), signal:N (raise uWSGI signal N…
    alarm: List[str]
    #: --log-alarm: raise the alarms NAME
    log_alarm: List[str]
    #: --not-log-alarm: a log line matching REGEXP raises none of the --log-alarm rules given after this one
    not_log_alarm: List[str]
    #: --alarm-freq: anti-flood: an alarm raised with the same message as its last run, within SECONDS of it, is skipped…
    alarm_freq: int
    #: --alarm-msg-size: longest alarm message; a longer one is cut (uWSGI's default: 8192)
    alarm_msg_size: int
    #: --alarm-fd: raise alarm NAME with MSG whenever the inherited descriptor FD is readable (BYTES read each time: 1…
    alarm_fd: List[str]
    #: --alarm-backlog: raise alarm NAME when a TCP socket's listen queue is full (--listen), checked every second by the m…
    alarm_backlog: List[str]
    #: --metric-threshold: when METRIC reaches N (checked every second): raise alarm NAME with msg= (default: the metric's nam…
    metric_threshold: List[str]
    #: --alarm-cheap: accepted: uWSGI runs curl alarms in the alarm thread instead of their own; gateway runs each one in…
    alarm_cheap: bool
    #: --alarm-segfault: not supported yet: uWSGI option, not supported yet by gateway
    alarm_segfault: List[str]
    #: --rpc-max: maximum number of registered RPC functions
    rpc_max: int
    #: --rpc-none-on-failure: uwsgi.rpc() and uwsgi.call() return None on every failure (unknown function, exception, refused con…
    rpc_none_on_failure: bool
    #: --rpc-max-reply: largest result a remote uwsgi.rpc() accepts (a bigger reply raises RPCProtocolError)
    rpc_max_reply: int
    #: --erlang: run an Erlang C-node named NODE (name, name@host or name@ip), published with EPMD
    erlang: Optional[str]
    #: --erlang-cookie: Erlang distribution cookie (default: ~/.erlang.cookie)
    erlang_cookie: Optional[str]
    #: --erlang-visible: connect as a visible node (hidden by default)
    erlang_visible: bool
    #: --erlang-max-atoms: maximum number of atoms created from remote input
    erlang_max_atoms: int
    #: --erlang-max-packet: maximum size of a distribution packet in bytes
    erlang_max_packet: int
    #: --erlang-call-mode: how functions called from Erlang (register_rpc functions, registered processes) run: 'inline' in a…
    erlang_call_mode: str
    #: --erlang-rpc-threads: threads that run functions called from Erlang with --erlang-call-mode threads
    erlang_rpc_threads: int
    #: --erlang-busy-poll: microseconds the Erlang node polls a connection for the peer's next packet before its loop sleeps (…
    erlang_busy_poll: int
    #: --erlang-timeout: default timeout in seconds of uwsgi.erlang_rpc() and of connecting to a node
    erlang_timeout: float
    #: --erlang-max-calls: Python calls from Erlang (rpc:call into register_rpc functions) running or waiting at once; past it…
    erlang_max_calls: int
    #: --erlang-handshake-timeout: seconds a distribution connection may take to finish its handshake before it is closed (Erlang's ne…
    erlang_handshake_timeout: float
    #: --erlang-max-handshakes: connections to the distribution port still in their handshake at once; more are closed at accept
    erlang_max_handshakes: int
    #: --processes: number of worker processes, forked by a master (above 1 a master runs even without --master)
    processes: int
    #: --master: run a master process: it binds the sockets, forks the workers, respawns them, reloads on SIGHUP, en…
    master: bool
    #: --cheaper: adaptive process spawning: keep at least N workers (fewer than --processes) and let --cheaper-algo…
    cheaper: int
    #: --cheaper-initial: --cheaper: workers started at boot (default: --cheaper)
    cheaper_initial: int
    #: --cheaper-step: --cheaper: workers started at once when more are needed (0 means 1, as in uWSGI)
    cheaper_step: int
    #: --cheaper-overload: --cheaper: spawn after more than N cycles (seconds) of overload; cycles of idleness between two sto…
    cheaper_overload: int
    #: --cheaper-idle: --cheaper-algo spare2: cycles with too many idle workers before one stops
    cheaper_idle: int
    #: --cheaper-rss-limit-soft: --cheaper: add no worker while the running workers' resident memory adds up to BYTES or more
    cheaper_rss_limit_soft: int
    #: --cheaper-rss-limit-hard: --cheaper: at BYTES or more (above the soft limit), stop one worker per cycle
    cheaper_rss_limit_hard: int
    #: --cheaper-algo: --cheaper's algorithm: spare (default), spare2, backlog, busyness or manual (the master FIFO's + an…
    cheaper_algo: str
    #: --cheaper-busyness-max: --cheaper-algo busyness: above this average busyness workers are loaded: spawn
    cheaper_busyness_max: int
    #: --cheaper-busyness-min: --cheaper-algo busyness: below this average busyness workers are idle: stop one once the cheaper ti…
    cheaper_busyness_min: int
    #: --cheaper-busyness-multiplier: --cheaper-algo busyness: a worker stops after --cheaper-overload x N idle seconds
    cheaper_busyness_multiplier: int
    #: --cheaper-busyness-penalty: --cheaper-algo busyness: added to the multiplier when a worker is spawned back too soon after one w…
    cheaper_busyness_penalty: int
    #: --cheaper-busyness-verbose: --cheaper-algo busyness: log every measure and decision
    cheaper_busyness_verbose: bool
    #: --cheaper-busyness-backlog-alert: --cheaper-algo busyness: more than N connections in the listen queue spawn emergency workers at once
    cheaper_busyness_backlog_alert: int
    #: --cheaper-busyness-backlog-multiplier: --cheaper-algo busyness: the multiplier while emergency workers run
    cheaper_busyness_backlog_multiplier: int
    #: --cheaper-busyness-backlog-step: --cheaper-algo busyness: emergency workers spawned at once
    cheaper_busyness_backlog_step: int
    #: --cheaper-busyness-backlog-nonzero: --cheaper-algo busyness: a listen queue never empty for SECONDS spawns emergency workers
    cheaper_busyness_backlog_nonzero: int
    #: --harakiri: per request, per core: a request running longer is logged with its URI, worker and core; suspended…
    harakiri: float
    #: --harakiri-verbose: log the stack of a request hit by --harakiri
    harakiri_verbose: bool
    #: --harakiri-graceful-timeout: a worker killed by --harakiri first gets --harakiri-graceful-signal and this many seconds to exit b…
    harakiri_graceful_timeout: float
    #: --harakiri-graceful-signal: the signal of a graceful harakiri attempt, a number or a name (default 15, SIGTERM)
    harakiri_graceful_signal: int
    #: --max-requests: recycle a worker (gracefully) after N requests (0 = never)
    max_requests: int
    #: --reload-on-rss: recycle a worker (gracefully) when its resident memory exceeds MB (0 = never)
    reload_on_rss: int
    #: --max-requests-delta: worker K recycles after --max-requests + K * N requests, so the workers do not all restart at once
    max_requests_delta: int
    #: --reload-on-as: recycle a worker (gracefully) when its address space exceeds MB (0 = never)
    reload_on_as: int
    #: --evil-reload-on-rss: the master kills (SIGKILL) a worker whose resident memory reaches MB, checked from /proc every seco…
    evil_reload_on_rss: int
    #: --evil-reload-on-as: the same for the address space
    evil_reload_on_as: int
    #: --limit-as: cap every process's address space at MB (RLIMIT_AS; an allocation beyond fails with MemoryError)
    limit_as: int
    #: --max-fd: raise (or lower) the limit of open files of every process to N (RLIMIT_NOFILE)
    max_fd: int
    #: --cpu-affinity: pin each worker to N CPUs, worker 1 to the first N, worker 2 to the next
    cpu_affinity: int
    #: --idle: after SECONDS without a request, stop every worker (uWSGI's cheap mode); the master starts them aga…
    idle: float
    #: --die-on-idle: stop the instance once it has been idle for --idle seconds
    die_on_idle: bool
    #: --max-worker-lifetime: recycle a worker (gracefully) once it has run SECONDS (0 = never)
    max_worker_lifetime: float
    #: --max-worker-lifetime-delta: worker K recycles after --max-worker-lifetime + K * SECONDS, so the workers do not all restart at o…
    max_worker_lifetime_delta: float
    #: --py-tracebacker: each worker answers on the UNIX socket PATH<worker id> with the stacks of its threads and of its re…
    py_tracebacker: Optional[str]
    #: --connect-and-read: connect to SOCKET (a UNIX path or host:port), print what it sends until it closes, and exit (for --…
    connect_and_read: Optional[str]
    #: --skip-atexit: workers under a master do not run the atexit hooks (Python's atexit module) when they stop graceful…
    skip_atexit: bool
    #: --skip-atexit-teardown: accepted: workers never tear the interpreter down (they end with os._exit)
    skip_atexit_teardown: bool
    #: --min-worker-lifetime: a worker lives at least this long before --max-requests or --reload-on-rss recycle it (uWSGI's defa…
    min_worker_lifetime: float
    #: --worker-reload-mercy: seconds a stopping or reloading worker may take to finish its requests before the master kills it
    worker_reload_mercy: float
    #: --reload-mercy: the longest the master waits for every process to exit during a reload or a graceful shutdown befor…
    reload_mercy: float
    #: --touch-chain-reload: chain-reload the workers (one at a time, the next once the new one serves) when FILE is touched
    touch_chain_reload: List[str]
    #: --touch-reload: gracefully reload (as SIGHUP) when FILE is modified or touched; repeatable
    touch_reload: List[str]
    #: --touch-workers-reload: gracefully replace the workers when FILE is touched, without loading the app again in the master (n…
    touch_workers_reload: List[str]
    #: --attach-daemon: run COMMAND (through /bin/sh) beside the workers, respawn it when it dies, stop it (SIGTERM to its…
    attach_daemon: List[str]
    #: --attach-control-daemon: --attach-daemon whose death stops the whole instance
    attach_control_daemon: List[str]
    #: --smart-attach-daemon: run COMMAND, which daemonizes itself and writes PIDFILE; the master checks the pid in PIDFILE every…
    smart_attach_daemon: List[str]
    #: --smart-attach-daemon2: --smart-attach-daemon for a COMMAND that stays in the foreground: the master daemonizes it and writ…
    smart_attach_daemon2: List[str]
    #: --attach-daemon2: a daemon with options: cmd, pidfile (smart), daemonize, freq, control, stopsignal, reloadsignal, to…
    attach_daemon2: List[str]
    #: --cron: the master runs COMMAND (through /bin/sh, without waiting) when the time matches (-1: any, -N: ever…
    cron: List[str]
    #: --unique-cron: --cron whose COMMAND never runs twice at once
    unique_cron: List[str]
    #: --cron2: --cron with keys minute, hour, day, month, week (default -1), unique, harakiri
    cron2: List[str]
    #: --cron-harakiri: kill a cron command still running after SECONDS (0: never)
    cron_harakiri: int
    #: --daemons-honour-stdin: the daemons keep the instance's stdin (by default it is /dev/null)
    daemons_honour_stdin: bool
    #: --no-orphans: accepted: workers and the router always stop when their master dies (uWSGI kills them only with --n…
    no_orphans: bool
    #: --die-on-term: accepted: SIGTERM always shuts gateway down gracefully (uWSGI 2.0 reloads on SIGTERM unless --die-o…
    die_on_term: bool
    #: --uid: drop privileges to USER (a name or a number) once every socket is bound, before the application is…
    uid: Optional[str]
    #: --gid: drop privileges to GROUP (a name or a number; default: USER's group)
    gid: Optional[str]
    #: --daemonize: detach into the background (the command returns at once) and log to LOGFILE
    daemonize: Optional[str]
    #: --daemonize2: detach into the background once the app is loaded (its errors still reach the terminal), log to LOG…
    daemonize2: Optional[str]
    #: --pidfile: write the master's pid to FILE at startup, before privileges are dropped
    pidfile: Optional[str]
    #: --master-fifo: a named pipe the master reads commands from: echo r > FILE reloads, q stops, s logs the stats, l/L…
    master_fifo: List[str]
    #: --pidfile2: write the master's pid to FILE after privileges are dropped
    pidfile2: Optional[str]
    #: --safe-pidfile: --pidfile written atomically (a temporary file renamed over FILE)
    safe_pidfile: Optional[str]
    #: --vacuum: remove the UNIX socket files gateway bound when it exits (a stale one is replaced at the next start…
    vacuum: bool
    #: --single-interpreter: accepted: gateway always runs one Python interpreter per process
    single_interpreter: bool
    #: --honour-stdin: accepted: gateway leaves stdin as it found it (uWSGI points it at /dev/null unless this is given)
    honour_stdin: bool
    #: --py-call-osafterfork: accepted: gateway forks with os.fork(), so os.register_at_fork() hooks always run
    py_call_osafterfork: bool
    #: --ignore-sigpipe: accepted: a vanished client is never a SIGPIPE here (Python ignores the signal) nor a log line
    ignore_sigpipe: bool
    #: --ignore-write-errors: accepted: a write to a vanished client is never logged
    ignore_write_errors: bool
    #: --add-header: add this header to every response of the apps (repeat for several)
    add_header: List[str]
    #: --static-map: answer GET/HEAD of /MOUNT/
    static_map: List[str]
    #: --check-static: answer GET/HEAD with the file at DIR + the request path when there is one
    check_static: List[str]
    #: --static-index: --static-map/--check-static: a directory is answered with its first file of these names (index.html)
    static_index: List[str]
    #: --auto-procname: name the processes as uWSGI does in ps and top: uWSGI master, uWSGI worker N, uWSGI http N (Linux)
    auto_procname: bool
    #: --procname-prefix: put TEXT before each process name
    procname_prefix: Optional[str]
    #: --procname-prefix-spaced: put TEXT and a space before each process name
    procname_prefix_spaced: Optional[str]
    #: --procname-append: put TEXT after each process name
    procname_append: Optional[str]
    #: --procname: the name of every process but the master
    procname: Optional[str]
    #: --procname-master: the name of the master process
    procname_master: Optional[str]
    #: --py-autoreload: development: every SECONDS, reload the instance if a source file of an imported module changed (nee…
    py_autoreload: float
    #: --catch-exceptions: development: an app exception's 500 answer shows its traceback (never in production)
    catch_exceptions: bool
    #: --reload-on-exception: recycle a worker (gracefully) after a request whose app raised
    reload_on_exception: bool
    #: --wsgi-disable-file-wrapper: do not offer wsgi.file_wrapper to the apps
    wsgi_disable_file_wrapper: bool
    #: --static-skip-ext: --static-map/--check-static: request paths ending with EXT (.py) always go to the app
    static_skip_ext: List[str]
    #: --static-expires: static files whose path matches REGEXP get Expires and Cache-Control max-age SECONDS
    static_expires: List[Tuple[str, int]]
    #: --static-expires-path-info: --static-expires, with REGEXP on the request's PATH_INFO
    static_expires_path_info: List[Tuple[str, int]]
    #: --static-expires-path-info-mtime: the same, SECONDS from the file's modification time instead of now
    static_expires_path_info_mtime: List[Tuple[str, int]]
    #: --static-expires-uri: --static-expires, with REGEXP on the request's REQUEST_URI
    static_expires_uri: List[Tuple[str, int]]
    #: --static-expires-uri-mtime: the same, SECONDS from the file's modification time instead of now
    static_expires_uri_mtime: List[Tuple[str, int]]
    #: --static-expires-mtime: --static-expires, SECONDS from the file's modification time instead of now
    static_expires_mtime: List[Tuple[str, int]]
    #: --static-expires-type: static files of content type TYPE (text/css) get Expires and Cache-Control max-age SECONDS
    static_expires_type: List[Tuple[str, int]]
    #: --static-expires-type-mtime: the same, SECONDS from the file's modification time
    static_expires_type_mtime: List[Tuple[str, int]]
    #: --static-gzip: static files whose path matches REGEXP are sent as FILE.br or FILE.gz, when that exists and the cli…
    static_gzip: List[str]
    #: --static-gzip-all: the same for every static file
    static_gzip_all: bool
    #: --static-gzip-dir: the same for the static files whose path starts with DIR
    static_gzip_dir: List[str]
    #: --static-gzip-ext: the same for the static files whose path ends with EXT (.css)
    static_gzip_ext: List[str]
    #: --static-map2: like --static-map, but the whole request path is looked up under DIR (/static/a.css is DIR/static/a…
    static_map2: List[str]
    #: --static-safe: a static file whose real path leads out of its mapped directory (a symlink) is still served when it…
    static_safe: List[str]
    #: --mimefile: more content types for static files, from a mime.types file (type ext ext...); /etc/mime.types is r…
    mimefile: List[str]
    #: --file-serve-mode: static files (--static-map, --check-static, the static: route) are answered with an X-Sendfile (x-s…
    file_serve_mode: Optional[str]
    #: --check-static-docroot: answer GET/HEAD with the file at the request's DOCUMENT_ROOT (sent by the web server: nginx's uwsgi…
    check_static_docroot: bool
    #: --disable-sendfile: accepted: gateway never uses sendfile(); files are read and written in blocks (by the offload threa…
    disable_sendfile: bool
    #: --http-path-info-no-decode-slashes: --http-socket and the HTTP router: an encoded slash (%2F) stays encoded in PATH_INFO, every other e…
    http_path_info_no_decode_slashes: bool
    #: --ignore-script-name: choose the app as if SCRIPT_NAME were empty (the app mounted at the root, or the default app); SCRI…
    ignore_script_name: bool
    #: --response-headers-limit: the largest response head (status line and headers) an app may set; start_response() raises beyond…
    response_headers_limit: int
    #: --upload-progress: with --post-buffering: while a body larger than --post-buffering is read, DIR/<X-Progress-ID>.js te…
    upload_progress: Optional[str]
    #: --post-buffering: read each request body whole before the app is called: up to BYTES in memory, a larger one in a tem…
    post_buffering: int
    #: --disable-write-exception: the app's write() to a vanished client returns quietly instead of raising OSError (the response's i…
    disable_write_exception: bool
    #: --thunder-lock: accepted: gateway's workers already take turns (each accepts one connection per wake-up; see --gree…
    thunder_lock: bool
    #: --greedy-accept: with several workers, let each accept every pending HTTP connection at once (on uvloop in C, ~35 us…
    greedy_accept: bool
    #: --stats: serve uWSGI-compatible JSON stats from the master on ADDR (host:port or a UNIX socket path; implies…
    stats: Optional[str]
    #: --stats-http: prefix the stats document with HTTP headers
    stats_http: bool
    #: --stats-minified: minify the stats document
    stats_minified: bool
    #: --stats-no-metrics: leave the metrics out of the stats document (as uWSGI)
    stats_no_metrics: bool
    #: --offload-threads: N threads per worker read the files of wsgi.file_wrapper responses while the worker's loop sends th…
    offload_threads: int
    #: --spooler: run a spooler on DIR (created if missing; implies a master): a process that runs the tasks the app…
    spooler: List[str]
    #: --spooler-processes: spooler processes per --spooler directory (they share its tasks)
    spooler_processes: int
    #: --spooler-frequency: how often an idle spooler scans its directory (uwsgi.spool() wakes it at once)
    spooler_frequency: int
    #: --spooler-ordered: run tasks in order: numeric priority subdirectories first (lowest first), then the task files by na…
    spooler_ordered: bool
    #: --spooler-chdir: chdir() to DIR before each spooler task (default: the task's directory)
    spooler_chdir: Optional[str]
    #: --spooler-max-tasks: recycle a spooler (the master spawns a new one) after N tasks (0 = never)
    spooler_max_tasks: int
    #: --spooler-harakiri: kill a spooler whose task runs longer than SECONDS (its stacks are dumped; the master respawns it a…
    spooler_harakiri: int
    #: --spooler-quiet: do not log every spooled, started and finished task
    spooler_quiet: bool
    #: --spooler-import: import MODULE (or run FILE.py) in each spooler process, after it is forked
    spooler_import: List[str]
    #: --spooler-max-size: the largest task file (vars + body): uwsgi.spool() refuses a larger task, a spooler leaves a larger…
    spooler_max_size: int
    #: --spooler-external: a spooler directory served by another instance: uwsgi.spool(spooler=DIR) writes tasks there, no spo…
    spooler_external: List[str]
    #: --spooler-cheap: run a spooler only while its directory holds tasks: the master checks every --spooler-frequency sec…
    spooler_cheap: bool
    #: --spooler-signal-as-task: not supported yet: uWSGI option, not supported yet by gateway
    spooler_signal_as_task: bool
    #: --touch-spoolers-reload: restart the spooler processes when FILE is touched
    touch_spoolers_reload: List[str]
    #: --mules: add N mules: processes forked by the master after the app is loaded that wait for uwsgi.mule_msg()…
    mules: int
    #: --mule: add one mule; with SCRIPT (--mule=FILE.py, --mule FILE.py or module:callable) the mule runs it inst…
    mule: List[str]
    #: --farm: group mules (by id, from 1) into farm NAME (e.g
    farm: List[str]
    #: --mule-msg-size: largest mule message; a bigger one is refused with ValueError to the sender
    mule_msg_size: int
    #: --route: internal routing: run ACTION (NAME:ARGS, e.g
    route: List[str]
    #: --route-host: internal routing rule on HTTP_HOST
    route_host: List[str]
    #: --route-uri: internal routing rule on REQUEST_URI
    route_uri: List[str]
    #: --route-qs: internal routing rule on QUERY_STRING
    route_qs: List[str]
    #: --route-remote-addr: internal routing rule on REMOTE_ADDR
    route_remote_addr: List[str]
    #: --route-user-agent: internal routing rule on HTTP_USER_AGENT
    route_user_agent: List[str]
    #: --route-referer: internal routing rule on HTTP_REFERER
    route_referer: List[str]
    #: --route-remote-user: internal routing rule on REMOTE_USER
    route_remote_user: List[str]
    #: --route-if: internal routing: run ACTION when the condition holds (exists:PATH, isfile:PATH, equal:A;B, startsw…
    route_if: List[str]
    #: --route-if-not: internal routing: run ACTION when the condition does not hold
    route_if_not: List[str]
    #: --route-run: internal routing: always run ACTION (at its place in the chain)
    route_run: List[str]
    #: --route-label: internal routing: a label, the target of goto:NAME
    route_label: List[str]
    #: --error-route-status: error chain: run ACTION when a response status is generated (every response: the app's, a rule's, g…
    error_route_status: List[str]
    #: --error-route: error chain: a rule on PATH_INFO (see --route)
    error_route: List[str]
    #: --error-route-host: error chain: a rule on HTTP_HOST (see --route)
    error_route_host: List[str]
    #: --error-route-uri: error chain: a rule on REQUEST_URI (see --route)
    error_route_uri: List[str]
    #: --error-route-qs: error chain: a rule on QUERY_STRING (see --route)
    error_route_qs: List[str]
    #: --error-route-remote-addr: error chain: a rule on REMOTE_ADDR (see --route)
    error_route_remote_addr: List[str]
    #: --error-route-user-agent: error chain: a rule on HTTP_USER_AGENT (see --route)
    error_route_user_agent: List[str]
    #: --error-route-referer: error chain: a rule on HTTP_REFERER (see --route)
    error_route_referer: List[str]
    #: --error-route-remote-user: error chain: a rule on REMOTE_USER (see --route)
    error_route_remote_user: List[str]
    #: --error-route-if: error chain: a rule on a condition (see --route-if)
    error_route_if: List[str]
    #: --error-route-if-not: error chain: a rule on a false condition
    error_route_if_not: List[str]
    #: --error-route-run: error chain: always run ACTION
    error_route_run: List[str]
    #: --error-route-label: error chain: a label, the target of goto:NAME
    error_route_label: List[str]
    #: --response-route-status: response chain: run ACTION when the response headers are about to go out, if the status is CODE
    response_route_status: List[str]
    #: --response-route: response chain: a rule on PATH_INFO (see --route)
    response_route: List[str]
    #: --response-route-host: response chain: a rule on HTTP_HOST (see --route)
    response_route_host: List[str]
    #: --response-route-uri: response chain: a rule on REQUEST_URI (see --route)
    response_route_uri: List[str]
    #: --response-route-qs: response chain: a rule on QUERY_STRING (see --route)
    response_route_qs: List[str]
    #: --response-route-remote-addr: response chain: a rule on REMOTE_ADDR (see --route)
    response_route_remote_addr: List[str]
    #: --response-route-user-agent: response chain: a rule on HTTP_USER_AGENT (see --route)
    response_route_user_agent: List[str]
    #: --response-route-referer: response chain: a rule on HTTP_REFERER (see --route)
    response_route_referer: List[str]
    #: --response-route-remote-user: response chain: a rule on REMOTE_USER (see --route)
    response_route_remote_user: List[str]
    #: --response-route-if: response chain: a rule on a condition (see --route-if)
    response_route_if: List[str]
    #: --response-route-if-not: response chain: a rule on a false condition
    response_route_if_not: List[str]
    #: --response-route-run: response chain: always run ACTION
    response_route_run: List[str]
    #: --response-route-label: response chain: a label, the target of goto:NAME
    response_route_label: List[str]
    #: --final-route-status: final chain: run ACTION after the response went out (log, logvar, metrics, signals...), if the stat…
    final_route_status: List[str]
    #: --final-route: final chain: a rule on PATH_INFO (see --route)
    final_route: List[str]
    #: --final-route-host: final chain: a rule on HTTP_HOST (see --route)
    final_route_host: List[str]
    #: --final-route-uri: final chain: a rule on REQUEST_URI (see --route)
    final_route_uri: List[str]
    #: --final-route-qs: final chain: a rule on QUERY_STRING (see --route)
    final_route_qs: List[str]
    #: --final-route-remote-addr: final chain: a rule on REMOTE_ADDR (see --route)
    final_route_remote_addr: List[str]
    #: --final-route-user-agent: final chain: a rule on HTTP_USER_AGENT (see --route)
    final_route_user_agent: List[str]
    #: --final-route-referer: final chain: a rule on HTTP_REFERER (see --route)
    final_route_referer: List[str]
    #: --final-route-remote-user: final chain: a rule on REMOTE_USER (see --route)
    final_route_remote_user: List[str]
    #: --final-route-if: final chain: a rule on a condition (see --route-if)
    final_route_if: List[str]
    #: --final-route-if-not: final chain: a rule on a false condition
    final_route_if_not: List[str]
    #: --final-route-run: final chain: always run ACTION
    final_route_run: List[str]
    #: --final-route-label: final chain: a label, the target of goto:NAME
    final_route_label: List[str]
    #: --del-header: remove the header NAME from every response of the apps (any case)
    del_header: List[str]
    #: --collect-header: store the app's response header HEADER in the request variable VAR (${VAR} in the error, response a…
    collect_header: List[str]
    #: --pull-header: as --collect-header, and remove HEADER from the response
    pull_header: List[str]
    #: --error-page-403: HTML page for the 403 answers gateway makes itself: accepted, but gateway never answers 403 on its…
    error_page_403: List[str]
    #: --error-page-404: HTML page for the 404 answers gateway makes itself (a static: route's missing file; the first FILE…
    error_page_404: List[str]
    #: --error-page-500: HTML page for the 500 answers gateway makes itself (the app raised, no app found)
    error_page_500: List[str]
    #: --cache2: create a cache shared by all workers: name=NAME,items=N[,blocksize=BYTES (65536)][,keysize=BYTES (2…
    cache2: List[str]
    #: --cache: create the legacy cache "default" with N items (uWSGI 1.x style; --cache2 is better)
    cache: int
    #: --cache-blocksize: block (maximum value) size of the --cache cache; 0 = 65536
    cache_blocksize: int
    #: --cache-expire-freq: how often the sweeper removes expired cache items
    cache_expire_freq: int
    #: --cache-store: keep the --cache cache in FILE (mapped shared; survives restarts; a file of another geometry is ref…
    cache_store: Optional[str]
    #: --cache-store-sync: msync the cache store files every SECONDS (the default of every cache's store_sync); 0 = only at st…
    cache_store_sync: int
    #: --cache-no-expire: never run the cache sweeper (expired items stay until deleted)
    cache_no_expire: bool
    #: --cache-report-freed-items: log how many expired items the sweeper freed in each cache
    cache_report_freed_items: bool
    #: --cache-use-last-modified: keep the --cache cache's last_modified_at (stats) up to date on every change
    cache_use_last_modified: bool
    #: --add-cache-item: store KEY=VALUE in CACHE (every cache when no CACHE is given) at startup
    add_cache_item: List[str]
    #: --load-file-in-cache: store FILE's content under the key FILE in CACHE (every cache when none) at startup
    load_file_in_cache: List[str]
    #: --load-file-in-cache-gzip: as --load-file-in-cache, the content gzip-compressed
    load_file_in_cache_gzip: List[str]
    #: --check-cache: answer a GET whose REQUEST_URI is a key of CACHE (the first cache when empty) with its value, witho…
    check_cache: Optional[str]
    #: --cache-udp-server: receive the --cache cache's changes from other nodes (uWSGI's datagrams) on this UDP address; impli…
    cache_udp_server: List[str]
    #: --cache-udp-node: send every change of the --cache cache to this node's cache udp server; implies --master
    cache_udp_node: List[str]
    #: --cache-sync: not supported yet: uWSGI option, not supported yet by gateway
    cache_sync: Optional[str]
    #: --static-cache-paths: keep the real paths of static files (--static-map, --check-static) in a cache for SECONDS (the firs…
    static_cache_paths: int
    #: --static-cache-paths-name: the cache --static-cache-paths uses
    static_cache_paths_name: Optional[str]
    #: --locks: user locks 1..N for uwsgi.lock(n) (lock 0 always exists)
    locks: int
    #: --metric: declare a metric shared by all workers: name=NAME[,type=counter|gauge|absolute|alias] [,initial_val…
    metric: List[str]
    #: --sharedarea: add a raw shared memory area (ids from 0) of N pages (or BYTES), shared by every process, for uwsgi…
    sharedarea: List[str]
    #: --queue: create the shared queue of N slots for uwsgi.queue_push/pull/pop/get/set/last (N x --queue-blocksiz…
    queue: int
    #: --queue-blocksize: size of each queue slot, its 16-byte header included (0 = 8192)
    queue_blocksize: int
    #: --queue-store: keep the queue in FILE (mapped shared; created, or recovered when its size matches); implies --mast…
    queue_store: Optional[str]
    #: --queue-store-sync: write the --queue-store file to disk every N seconds (master cycles); 0 = never
    queue_store_sync: int
    #: --enable-metrics: enable the metrics subsystem: uWSGI's built-in metrics (worker.N.requests...), collected by the mas…
    enable_metrics: bool
    #: --metrics-dir: keep one file per metric in DIR holding its value as text (refreshed every second)
    metrics_dir: Optional[str]
    #: --metrics-dir-restore: start each metric from the value its --metrics-dir file holds (a built-in one then adds what the ma…
    metrics_dir_restore: bool
    #: --metrics-no-cores: do not register the built-in worker.N.core.M.* metrics (nor push them); implies --master
    metrics_no_cores: bool
    #: --stats-push: push every metric to a statsd server (host:port, [v6]:port or a UNIX datagram socket) as PREFIX.NAM…
    stats_push: List[str]
    #: --stats-pusher-default-freq: how often --stats-push pushes
    stats_pusher_default_freq: int
    #: --statsd-no-workers: leave the worker.* metrics out of the statsd datagrams
    statsd_no_workers: bool
    #: --statsd-all-gauges: send every metric to statsd as a gauge (|g), counters included
    statsd_all_gauges: bool
    #: --carbon: push the workers' statistics to a carbon (Graphite) server, one connection per --carbon-freq; impli…
    carbon: List[str]
    #: --carbon-timeout: abandon a carbon connection after SECONDS without progress (0 = 3)
    carbon_timeout: int
    #: --carbon-freq: carbon push period (0 = 60)
    carbon_freq: int
    #: --carbon-id: the instance's name in the carbon paths (default: the first socket, dots as _)
    carbon_id: Optional[str]
    #: --carbon-no-workers: leave the per-worker lines out of what carbon receives
    carbon_no_workers: bool
    #: --carbon-max-retry: retry a carbon server that could not be reached N times (uWSGI's code: 0)
    carbon_max_retry: int
    #: --carbon-retry-delay: seconds between two carbon retries (0 = 7)
    carbon_retry_delay: int
    #: --carbon-root: the first element of the carbon paths (default uwsgi)
    carbon_root: Optional[str]
    #: --carbon-hostname-dots: replace the dots of the host name in the carbon paths with CHAR
    carbon_hostname_dots: Optional[str]
    #: --carbon-name-resolve: accept host names in --carbon (resolved once, at startup)
    carbon_name_resolve: bool
    #: --carbon-idle-avg: the avg_rt pushed when no request arrived since the last push: the last value (default), zero, or n…
    carbon_idle_avg: Optional[str]
    #: --carbon-use-metrics: push every metric (uWSGI's metric names) instead of carbon's own lines
    carbon_use_metrics: bool
    #: --ini: load options from the [uwsgi] section (or SECTION) of an ini file; a lone FILE.ini argument does th…
    ini: List[str]
    #: --json: load options from the "uwsgi" object (or OBJECT) of a JSON file; a lone FILE.json (or .js) argument…
    json: List[str]
    #: --yaml: load options from the uwsgi: mapping (or SECTION) of a YAML file (uWSGI's subset); a lone FILE.yaml…
    yaml: List[str]
    #: --xml: load options from the <uwsgi> element (the one with id=ID) of an XML file; a lone FILE.xml argument…
    xml: List[str]
    #: --include: load a config file at this point, its format by its extension (.ini, .xml, .yaml/.yml, .json/.js)
    include: List[str]
    #: --config: the same as --include (uWSGI's pluggable loaders: only the built-in formats here)
    config: List[str]
    #: --inherit: load a config file (format by extension) after every other source, as uWSGI does: its options come…
    inherit: List[str]
    #: --fallback-config: if gateway fails to start (exit status 1: a bad option after this one, a socket, the app), run it a…
    fallback_config: Optional[str]
    #: --set: set an option, or a placeholder usable as %(NAME)
    set: List[Tuple[str, str]]
    #: --set-placeholder: set a placeholder usable as %(NAME)
    set_placeholder: List[Tuple[str, str]]
    #: --strict: refuse keys that are not options in ini files and UWSGI_* variables (by default they are placeholde…
    strict: bool
    #: --declare-option: declare option NAME: giving it (--NAME or NAME = 
    declare_option: List[str]
    #: --print: print TEXT on standard output at startup (handy with placeholders)
    print: List[str]
    #: --help: show this help
    help: bool
    #: --version: print the version
    version: bool
    #: --reload: send SIGHUP (the master reloads gracefully) to the process whose pid is in PIDFILE, and exit
    reload: Optional[str]
    #: --stop: send SIGINT (the master shuts down gracefully) to the process whose pid is in PIDFILE, and exit
    stop: Optional[str]
    #: --pause: send SIGTSTP (the master pauses its workers: they finish their requests and accept no more; or resu…
    pause: Optional[str]
    #: --suspend: send SIGTSTP, as --pause, to the process whose pid is in PIDFILE, and exit
    suspend: Optional[str]
    #: --resume: send SIGTSTP, as --pause (a toggle: it resumes a paused instance), to the process whose pid is in P…
    resume: Optional[str]
    #: --signal: raise uWSGI signal NUM (0-255) on the server at ADDR (its --socket: host:port or a UNIX path) and e…
    signal: Optional[str]
    #: --ping: ping the uwsgi node at ADDR (modifier1 100) and exit: 0 when it answers, 2 when it answers with a w…
    ping: Optional[str]
    #: --ping-timeout: how long --ping waits to connect and for the answer (0: the default, 3)
    ping_timeout: int
    #: --get: print the value OPTION was given (the first one; nothing when it was not given) and exit; repeatable
    get_: List[str]
    #: --show-config: print the configuration as an ini file (every option given, after placeholders are expanded), then…
    show_config: bool
    #: --dump-options: print the name of every option gateway accepts and exit
    dump_options: bool
    #: --plugins-list: print built-in plugins, and the modifier1 values --socket answers, then go on
    plugins_list: bool
    #: --loggers-list: print the logger plugins (--logger, --req-logger), then go on
    loggers_list: bool
    #: --loop-list: print the loop engine and the --loop values, then go on
    loop_list: bool
    #: --cheaper-algo-list: print the --cheaper-algo algorithms, then go on
    cheaper_algo_list: bool
    #: --router-list: print the --route actions, then go on
    router_list: bool
    #: --clock-list: print the clocks, then go on
    clock_list: bool
    #: --imperial-monitor-list: print the --emperor monitors, then go on
    imperial_monitor_list: bool
    #: --alarm-list: print the alarm plugins (--alarm NAME PLUGIN:ARGS), then go on
    alarm_list: bool
    #: --extract: copy FILE to standard output and exit (uWSGI's other addresses, such as sym:// or http://, are refu…
    extract: Optional[str]
    #: --cflags: not supported yet: uWSGI option, not supported yet by gateway
    cflags: bool
    #: --dot-h: not supported yet: uWSGI option, not supported yet by gateway
    dot_h: bool
    #: --config-py: not supported yet: uWSGI option, not supported yet by gateway
    config_py: bool
    #: --build-plugin: not supported yet: uWSGI option, not supported yet by gateway
    build_plugin: Optional[str]
    #: --print-sym: not supported yet: uWSGI option, not supported yet by gateway
    print_sym: Optional[str]
    #: --privileged-binary-patch: not supported yet: uWSGI option, not supported yet by gateway
    privileged_binary_patch: Optional[str]
    #: --unprivileged-binary-patch: not supported yet: uWSGI option, not supported yet by gateway
    unprivileged_binary_patch: Optional[str]
    #: --privileged-binary-patch-arg: not supported yet: uWSGI option, not supported yet by gateway
    privileged_binary_patch_arg: Optional[str]
    #: --unprivileged-binary-patch-arg: not supported yet: uWSGI option, not supported yet by gateway
    unprivileged_binary_patch_arg: Optional[str]
    #: --gevent: not supported yet: uWSGI option, not supported yet by gateway
    gevent: Optional[str]
    #: --asyncio: not supported yet: uWSGI option, not supported yet by gateway
    asyncio: Optional[str]
    #: --ugreen: not supported yet: uWSGI option, not supported yet by gateway
    ugreen: bool
    #: --emperor: run the Emperor: one vassal (a gateway instance) per config file (.ini, .xml, .yaml/.yml, .json/.js…
    emperor: List[str]
    #: --emperor-freq: seconds between two scans of the vassal files (uWSGI's default: 3)
    emperor_freq: int
    #: --emperor-throttle: a vassal that died before serving its first request waits MS milliseconds before its respawn, doubl…
    emperor_throttle: int
    #: --emperor-max-throttle: the longest respawn delay of a failing vassal (uWSGI's default: 3 minutes)
    emperor_max_throttle: int
    #: --emperor-curse-tolerance: seconds a vassal asked to stop may take before it is killed (uWSGI's default: 30)
    emperor_curse_tolerance: int
    #: --emperor-tyrant: (as root) run each vassal as the owner (uid and gid) of its config file; files owned by root are re…
    emperor_tyrant: bool
    #: --emperor-stats: serve the Emperor's JSON stats (its vassals) on ADDR (host:port or a UNIX path)
    emperor_stats: Optional[str]
    #: --emperor-pidfile: write the Emperor's pid to FILE
    emperor_pidfile: Optional[str]
    #: --emperor-procname: the Emperor's process name (ps, top)
    emperor_procname: Optional[str]
    #: --emperor-nofollow: do not follow symlinks: a symlinked vassal file is reloaded when the link itself changes, not its t…
    emperor_nofollow: bool
    #: --emperor-wrapper: start each vassal as 'BINARY --ini FILE' instead of 'python -m gateway --ini FILE' (another virtual…
    emperor_wrapper: Optional[str]
    #: --emperor-no-blacklist: respawn failing vassals without the --emperor-throttle delay
    emperor_no_blacklist: bool
    #: --emperor-graceful-shutdown: accepted: gateway's Emperor always stops its vassals gracefully
    emperor_graceful_shutdown: bool
    #: --vassals-inherit: every vassal also loads FILE after its own config (as --inherit)
    vassals_inherit: List[str]
    #: --vassals-include: every vassal also loads FILE after its own config (as --include)
    vassals_include: List[str]
    #: --vassals-inherit-before: every vassal loads FILE (as --inherit) before its own config
    vassals_inherit_before: List[str]
    #: --vassals-include-before: every vassal loads FILE (as --include) before its own config
    vassals_include_before: List[str]
    #: --vassal-set: give every vassal --set NAME=VALUE
    vassal_set: List[str]
    #: --heartbeat: (in a vassal) the master tells its Emperor every SECONDS that it is alive (0: never), so an Emperor…
    heartbeat: Optional[int]
    #: --emperor-required-heartbeat: a vassal that sent heartbeats and then none for more than SECONDS is hung: killed and respawned (uW…
    emperor_required_heartbeat: int
    #: --emperor-on-demand-extension: not supported yet: uWSGI option, not supported yet by gateway
    emperor_on_demand_extension: Optional[str]
    #: --emperor-on-demand-ext: not supported yet: uWSGI option, not supported yet by gateway
    emperor_on_demand_ext: Optional[str]
    #: --emperor-on-demand-directory: not supported yet: uWSGI option, not supported yet by gateway
    emperor_on_demand_directory: Optional[str]
    #: --emperor-on-demand-dir: not supported yet: uWSGI option, not supported yet by gateway
    emperor_on_demand_dir: Optional[str]
    #: --emperor-on-demand-exec: not supported yet: uWSGI option, not supported yet by gateway
    emperor_on_demand_exec: Optional[str]
    #: --emperor-broodlord: not supported yet: uWSGI option, not supported yet by gateway
    emperor_broodlord: Optional[str]
    #: --vassal-sos: not supported yet: uWSGI option, not supported yet by gateway
    vassal_sos: Optional[str]
    #: --vassal-sos-backlog: not supported yet: uWSGI option, not supported yet by gateway
    vassal_sos_backlog: Optional[str]
    #: --emperor-command-socket: not supported yet: uWSGI option, not supported yet by gateway
    emperor_command_socket: Optional[str]
    #: --emperor-trigger-socket: not supported yet: uWSGI option, not supported yet by gateway
    emperor_trigger_socket: Optional[str]
    #: --emperor-use-fork-server: not supported yet: uWSGI option, not supported yet by gateway
    emperor_use_fork_server: Optional[str]
    #: --vassal-fork-base: not supported yet: uWSGI option, not supported yet by gateway
    vassal_fork_base: Optional[str]
    #: --emperor-use-clone: not supported yet: uWSGI option, not supported yet by gateway
    emperor_use_clone: Optional[str]
    #: --emperor-cap: not supported yet: uWSGI option, not supported yet by gateway
    emperor_cap: Optional[str]
    #: --vassals-cap: not supported yet: uWSGI option, not supported yet by gateway
    vassals_cap: Optional[str]
    #: --vassal-cap: not supported yet: uWSGI option, not supported yet by gateway
    vassal_cap: Optional[str]
    #: --emperor-collect-attribute: not supported yet: uWSGI option, not supported yet by gateway
    emperor_collect_attribute: Optional[str]
    #: --emperor-collect-attr: not supported yet: uWSGI option, not supported yet by gateway
    emperor_collect_attr: Optional[str]
    #: --emperor-fork-server-attr: not supported yet: uWSGI option, not supported yet by gateway
    emperor_fork_server_attr: Optional[str]
    #: --emperor-wrapper-attr: not supported yet: uWSGI option, not supported yet by gateway
    emperor_wrapper_attr: Optional[str]
    #: --emperor-chdir-attr: not supported yet: uWSGI option, not supported yet by gateway
    emperor_chdir_attr: Optional[str]
    #: --emperor-wrapper-override: not supported yet: uWSGI option, not supported yet by gateway
    emperor_wrapper_override: Optional[str]
    #: --emperor-wrapper-fallback: not supported yet: uWSGI option, not supported yet by gateway
    emperor_wrapper_fallback: Optional[str]
    #: --emperor-magic-exec: not supported yet: uWSGI option, not supported yet by gateway
    emperor_magic_exec: bool
    #: --emperor-proxy-socket: not supported yet: uWSGI option, not supported yet by gateway
    emperor_proxy_socket: Optional[str]
    #: --emperor-subreaper: not supported yet: uWSGI option, not supported yet by gateway
    emperor_subreaper: bool
    #: --emperor-tyrant-nofollow: not supported yet: uWSGI option, not supported yet by gateway
    emperor_tyrant_nofollow: bool
    #: --emperor-tyrant-initgroups: not supported yet: uWSGI option, not supported yet by gateway
    emperor_tyrant_initgroups: bool
    #: --vassals-start-hook: not supported yet: uWSGI option, not supported yet by gateway
    vassals_start_hook: Optional[str]
    #: --vassals-stop-hook: not supported yet: uWSGI option, not supported yet by gateway
    vassals_stop_hook: Optional[str]
    #: --emperor-extra-extension: not supported yet: uWSGI option, not supported yet by gateway
    emperor_extra_extension: Optional[str]
    #: --emperor-extra-ext: not supported yet: uWSGI option, not supported yet by gateway
    emperor_extra_ext: Optional[str]
    #: --emperor-wait-for-command: not supported yet: uWSGI option, not supported yet by gateway
    emperor_wait_for_command: bool
    #: --emperor-wait-for-command-ignore: not supported yet: uWSGI option, not supported yet by gateway
    emperor_wait_for_command_ignore: Optional[str]
    #: --early-emperor: not supported yet: uWSGI option, not supported yet by gateway
    early_emperor: bool
    #: --touch-signal: raise uWSGI signal SIGNAL (routed like uwsgi.signal) when FILE is modified or touched
    touch_signal: List[Tuple[str, int]]
    #: --touch-exec: run COMMAND (through /bin/sh, in a child of the master) when FILE is modified or touched
    touch_exec: List[Tuple[str, str]]
    #: --touch-mules-reload: reload the mules (SIGHUP, then respawned from the master) when FILE is modified or touched
    touch_mules_reload: List[str]
    #: --fs-reload: gracefully reload when PATH changes (a directory: when an entry is created, deleted, renamed or mod…
    fs_reload: List[str]
    #: --fs-brutal-reload: brutally reload (the workers are killed at once) when PATH changes
    fs_brutal_reload: List[str]
    #: --fs-signal: raise uWSGI signal SIGNAL when PATH changes
    fs_signal: List[Tuple[str, int]]
    #: --signal-timer: raise uWSGI signal SIGNAL every SECONDS (as uwsgi.add_timer)
    signal_timer: List[Tuple[int, int]]
    #: --signal-rbtimer: raise uWSGI signal SIGNAL every SECONDS (as uwsgi.add_rb_timer)
    signal_rbtimer: List[Tuple[int, int]]
    #: --mule-harakiri: kill (SIGKILL) a mule whose handler of a uWSGI signal runs longer than SECONDS; the master respawns…
    mule_harakiri: int
    #: --mule-reload-mercy: seconds a reloading or stopping mule may take to exit before the master kills it
    mule_reload_mercy: int
    #: --mule-msg-recv-size: a mule's message loop reads at most BYTES of each message (longer ones are truncated)
    mule_msg_recv_size: int
    #: --die-on-no-workers: the master exits (status 1) when no worker is running (all of them waiting to be respawned)
    die_on_no_workers: bool
    #: --cheap: start with no worker: the master spawns them at the first connection (cheap mode)
    cheap: bool
    #: --reload-on-exception-type: recycle a worker after a request whose app raised an exception of this type (its class name, ZeroDi…
    reload_on_exception_type: List[str]
    #: --reload-on-exception-value: the same for an exception whose str() is VALUE
    reload_on_exception_value: List[str]
    #: --reload-on-exception-repr: the same for an exception written TYPE:VALUE (its class name, a colon, its str())
    reload_on_exception_repr: List[str]
    #: --reload-on-pss: recycle a worker (gracefully) when its proportional set size reaches MB (Linux)
    reload_on_pss: int
    #: --reload-on-uss: recycle a worker (gracefully) when its unique set size reaches MB (Linux)
    reload_on_uss: int
    #: --stats-no-cores: --stats: leave the per-core objects out of each worker
    stats_no_cores: bool
    #: --reaper: after each request, a worker reaps its exited child processes (waitpid)
    reaper: bool
    #: --no-threads-wait: accepted: a stopping worker never waits for the app's threads (it ends with os._exit)
    no_threads_wait: bool
    #: --thread-stacksize: stack size of the threads the app and gateway start (threading.stack_size; at least 32 KB; 0 = the…
    thread_stacksize: int
    #: --harakiri-queue-threshold: --harakiri kills a stuck worker only while N or more connections wait in the listen queues of the T…
    harakiri_queue_threshold: int
    #: --exit-on-reload: a reload request (SIGHUP, --touch-reload, the master FIFO's r) stops the instance instead (status 0)
    exit_on_reload: bool
    #: --check-interval: seconds between the master's checks of the touch files (and of the filesystem monitors where inotif…
    check_interval: int
    #: --pymodule-alias: make 'import NAME' give MODULE (or the module run from FILE, a value with a /), before anything els…
    pymodule_alias: List[str]
    #: --post-pymodule-alias: the same, done just before the app is loaded (after --import), where the app is
    post_pymodule_alias: List[str]
    #: --early-pyimport: import MODULE (or run a .py file) as soon as the options are read, before any socket is bound (a fa…
    early_pyimport: List[str]
    #: --early-python: accepted: gateway's Python interpreter is running from the start
    early_python: bool
    #: --py-sys-executable: the app's sys.executable (gateway itself keeps the real interpreter to start itself again)
    py_sys_executable: Optional[str]
    #: --test: import MODULE in the app's environment (the uwsgi module included) and exit: 0 if it imported, 1 if…
    test: Optional[str]
    #: --python: run FILE as __main__ in the app's environment (import uwsgi works, the app is loaded if given) and…
    python: Optional[str]
    #: --pyshell: worker 1 runs an interactive Python shell (or CODE) in the app's environment instead of serving; it…
    pyshell: Optional[str]
    #: --pyshell-oneshot: worker 1 runs the shell (or CODE) once, then serves
    pyshell_oneshot: Optional[str]
    #: --python-worker-override: each worker runs FILE as __main__ instead of serving (the app is loaded, import uwsgi works) and ex…
    python_worker_override: Optional[str]
    #: --python-version: print the Python version and exit
    python_version: bool
    #: --paste-name: --paste: the name of the app section to load (PasteDeploy's loadapp name=)
    paste_name: Optional[str]
    #: --max-apps: at most N apps (the default one and the --mount ones) in a worker; more stop the start
    max_apps: int
    #: --reload-os-env: before each request, refresh os.environ from the process environment (for variables a C library set…
    reload_os_env: bool
    #: --py-auto-reload-ignore: --py-autoreload does not watch MODULE (its name, as in sys.modules)
    py_auto_reload_ignore: List[str]
    #: --py-call-uwsgi-fork-hooks: accepted: gateway forks with os.fork(), so the os.register_at_fork() hooks always run
    py_call_uwsgi_fork_hooks: bool
    #: --wsgi-strict: an app returning bytes (not a list of bytes) has it iterated, as PEP 3333 says (an error); by defau…
    wsgi_strict: bool
    #: --wsgi-accept-buffer: body chunks may be any object with the buffer protocol (array, mmap...), not only bytes, bytearray…
    wsgi_accept_buffer: bool
    #: --wsgi-manage-chunked-input: accepted: wsgi.input always decodes a chunked request body and wsgi.input_terminated is always True
    wsgi_manage_chunked_input: bool
    #: --write-errors-tolerance: a response tolerates N failed writes (the client went away): the app's iterable is iterated on (the…
    write_errors_tolerance: int
    #: --write-errors-exception-only: a failed write is the app's business: the OSError is raised in the app's generator (or write()) for…
    write_errors_exception_only: bool
    #: --post-buffering-bufsize: --post-buffering reads the body BYTES at a time (0 = 65536)
    post_buffering_bufsize: int
    #: --body-read-warning: log a warning (once per request) when one read()/readline() of wsgi.input returns more than MB mega…
    body_read_warning: int
    #: --py-program-name: not supported yet: uWSGI option, not supported yet by gateway
    py_program_name: Optional[str]
    #: --no-site: not supported yet: uWSGI option, not supported yet by gateway
    no_site: bool
    #: --chunked-input-limit: the largest chunk uwsgi.chunked_read() returns: a larger one is an IOError (0: no limit)
    chunked_input_limit: int
    #: --chunked-input-timeout: how long uwsgi.chunked_read() (without a timeout of its own) waits for the next body bytes (0: --so…
    chunked_input_timeout: int
    #: --dynamic-apps: not supported yet: uWSGI option, not supported yet by gateway
    dynamic_apps: bool
    #: --start-response-nodelay: send WSGI http headers as soon as possible (PEP violation): when the app calls start_response, not…
    start_response_nodelay: bool
    #: --py-master-check-signals: not supported yet: uWSGI option, not supported yet by gateway
    py_master_check_signals: bool
    #: --py-sharedarea: not supported yet: uWSGI option, not supported yet by gateway
    py_sharedarea: List[str]
    #: --python-raw: not supported yet: uWSGI option, not supported yet by gateway
    python_raw: Optional[str]
    #: --web3: not supported yet: uWSGI option, not supported yet by gateway
    web3: Optional[str]
    #: --pump: not supported yet: uWSGI option, not supported yet by gateway
    pump: Optional[str]
    #: --wsgi-lite: not supported yet: uWSGI option, not supported yet by gateway
    wsgi_lite: Optional[str]
    #: --pecan: not supported yet: uWSGI option, not supported yet by gateway
    pecan: Optional[str]
    #: --max-vars: a uwsgi vars block may hold 2*N key/value pairs (uWSGI's reading of the option: the default 64 allo…
    max_vars: int
    #: --wsgi-env-behaviour: accepted: gateway always gives each request a fresh environ dict (uWSGI's holy behaviour); cheat's…
    wsgi_env_behaviour: Optional[str]
    #: --if-env: the following options, up to endif, apply only if the environment variable is set (to VALUE) (%(_):…
    if_env: List[str]
    #: --if-not-env: the following options, up to endif, apply only if the environment variable is not set (to VALUE) (%…
    if_not_env: List[str]
    #: --if-opt: the following options, up to endif, apply only if the option or placeholder was given (as VALUE) (%…
    if_opt: List[str]
    #: --if-not-opt: the following options, up to endif, apply only if the option or placeholder was not given (as VALUE…
    if_not_opt: List[str]
    #: --if-exists: the following options, up to endif, apply only if PATH exists (%(_): the value tested)
    if_exists: List[str]
    #: --if-not-exists: the following options, up to endif, apply only if PATH does not exist (%(_): the value tested)
    if_not_exists: List[str]
    #: --if-file: the following options, up to endif, apply only if PATH is a file (%(_): the value tested)
    if_file: List[str]
    #: --if-not-file: the following options, up to endif, apply only if PATH is not a file (%(_): the value tested)
    if_not_file: List[str]
    #: --if-dir: the following options, up to endif, apply only if PATH is a directory (%(_): the value tested)
    if_dir: List[str]
    #: --if-not-dir: the following options, up to endif, apply only if PATH is not a directory (%(_): the value tested)
    if_not_dir: List[str]
    #: --if-hostname: the following options, up to endif, apply only if the host is NAME (%(_): the value tested)
    if_hostname: List[str]
    #: --if-not-hostname: the following options, up to endif, apply only if the host is not NAME (%(_): the value tested)
    if_not_hostname: List[str]
    #: --if-hostname-match: the following options, up to endif, apply only if the host name matches REGEXP (a search, Python's…
    if_hostname_match: List[str]
    #: --if-not-hostname-match: the following options, up to endif, apply only if the host name does not match REGEXP (%(_): the va…
    if_not_hostname_match: List[str]
    #: --if-plugin: the following options, up to endif, apply only if the plugin is built in (%(_): the value tested)
    if_plugin: List[str]
    #: --if-not-plugin: the following options, up to endif, apply only if the plugin is not built in (%(_): the value teste…
    if_not_plugin: List[str]
    #: --if-reload: the following options apply only on a reload (never here)
    if_reload: bool
    #: --if-not-reload: the following options apply unless this is a reload (always here)
    if_not_reload: bool
    #: --else: the following options apply if the last condition failed
    else_: bool
    #: --for: the following options, up to endfor, once per space-separated item (%(_))
    for_: List[str]
    #: --for-glob
    for_glob: List[str]
    #: --for-times
    for_times: List[str]
    #: --for-readline
    for_readline: List[str]
    #: --endif: close the if-*/for* block
    endif: bool
    #: --master-as-root: the master stays root; every child it forks (workers, mules, spoolers, routers...) drops to --uid/-…
    master_as_root: bool
    #: --chroot: chroot() to DIR (as root) just before --gid/--uid are applied; the app is loaded inside it
    chroot: Optional[str]
    #: --add-gid: with --uid/--gid: the supplementary groups become these groups (names or numbers), instead of the u…
    add_gid: List[str]
    #: --no-initgroups: with --uid/--gid: no supplementary groups (by default the user's groups from /etc/group, as initgro…
    no_initgroups: bool
    #: --immediate-uid: setuid() to USER (not root) as soon as the configuration is read, before anything else
    immediate_uid: Optional[str]
    #: --immediate-gid: setgid() to GROUP (not root) as soon as the configuration is read, before anything else; supplement…
    immediate_gid: Optional[str]
    #: --prio: the scheduling priority (nice value) of every process, set after privileges are dropped
    prio: Optional[int]
    #: --never-swap: mlockall() the memory of every process (current and future pages) so it is never swapped; needs CAP…
    never_swap: bool
    #: --limit-nproc: limit the number of processes of the user (RLIMIT_NPROC); workers are reduced to fit, as uWSGI does
    limit_nproc: Optional[int]
    #: --force-cwd: the working directory a binary reload (a vassal's) returns to, instead of the one gateway started in
    force_cwd: Optional[str]
    #: --binsh: the shell of exec hooks, daemons and cron commands: the first SHELL that is executable, else /bin/sh
    binsh: List[str]
    #: --flock: lock FILE (fcntl, as uWSGI) at startup and hold it; exit if another process holds it
    flock: List[str]
    #: --flock-wait: lock FILE at startup, waiting while another process holds it
    flock_wait: List[str]
    #: --flock2: --flock once the log file is set up (after --daemonize)
    flock2: Optional[str]
    #: --flock-wait2: --flock-wait once the log file is set up (after --daemonize)
    flock_wait2: Optional[str]
    #: --file-write: write VALUE and a newline to FILE before privileges are dropped
    file_write: List[str]
    #: --wait-for-fs: wait (at most --wait-for-fs-timeout) for PATH to exist before privileges are dropped
    wait_for_fs: List[str]
    #: --wait-for-file: wait for FILE to be a regular file (--wait-for-fs-timeout)
    wait_for_file: List[str]
    #: --wait-for-dir: wait for DIR to be a directory (--wait-for-fs-timeout)
    wait_for_dir: List[str]
    #: --wait-for-mountpoint: wait for a filesystem to be mounted on DIR (--wait-for-fs-timeout)
    wait_for_mountpoint: List[str]
    #: --wait-for-fs-timeout: seconds --wait-for-fs/file/dir/mountpoint wait before giving up (0: 60)
    wait_for_fs_timeout: int
    #: --wait-for-socket: wait for a connection to ADDRESS (host:port or a UNIX socket path) to succeed before the app is loa…
    wait_for_socket: List[str]
    #: --wait-for-socket-timeout: seconds --wait-for-socket waits before giving up (0: 60)
    wait_for_socket_timeout: int
    #: --wait-for-interface: wait for the network interface NAME to exist before privileges are dropped
    wait_for_interface: List[str]
    #: --wait-for-interface-timeout: seconds --wait-for-interface waits before giving up (0: 60)
    wait_for_interface_timeout: int
    #: --envdir: set environment variables from a daemontools envdir (one file per variable; an empty file unsets it…
    envdir: List[str]
    #: --early-envdir: --envdir while the configuration is read: $(VAR) in the options after it sees the variables
    early_envdir: List[str]
    #: --safe-pidfile2: --pidfile2 written atomically (a temporary file renamed over FILE)
    safe_pidfile2: Optional[str]
    #: --close-on-exec: accepted: connection sockets are always close-on-exec (Python creates every descriptor non-inherita…
    close_on_exec: bool
    #: --close-on-exec2: accepted: listening sockets are always close-on-exec (Python creates every descriptor non-inheritab…
    close_on_exec2: bool
    #: --skip-zero: accepted: gateway never takes file descriptor 0 as a socket (uWSGI does unless this is given)
    skip_zero: bool
    #: --use-abort: accepted: a segfault or floating point exception already ends the process with the signal's default…
    use_abort: bool
    #: --cap: not supported yet: uWSGI option, not supported yet by gateway
    cap: Optional[str]
    #: --unshare: not supported yet: uWSGI option, not supported yet by gateway
    unshare: Optional[str]
    #: --unshare2: not supported yet: uWSGI option, not supported yet by gateway
    unshare2: Optional[str]
    #: --setns: not supported yet: uWSGI option, not supported yet by gateway
    setns: Optional[str]
    #: --setns-socket: not supported yet: uWSGI option, not supported yet by gateway
    setns_socket: Optional[str]
    #: --setns-socket-skip: not supported yet: uWSGI option, not supported yet by gateway
    setns_socket_skip: List[str]
    #: --setns-preopen: not supported yet: uWSGI option, not supported yet by gateway
    setns_preopen: bool
    #: --namespace: not supported yet: uWSGI option, not supported yet by gateway
    namespace: Optional[str]
    #: --namespace-keep-mount: not supported yet: uWSGI option, not supported yet by gateway
    namespace_keep_mount: List[str]
    #: --namespace-net: not supported yet: uWSGI option, not supported yet by gateway
    namespace_net: Optional[str]
    #: --pivot-root: not supported yet: uWSGI option, not supported yet by gateway
    pivot_root: Optional[str]
    #: --jailed: not supported yet: uWSGI option, not supported yet by gateway
    jailed: bool
    #: --jail: not supported yet: uWSGI option, not supported yet by gateway
    jail: Optional[str]
    #: --jail-ip4: not supported yet: uWSGI option, not supported yet by gateway
    jail_ip4: List[str]
    #: --jail-ip6: not supported yet: uWSGI option, not supported yet by gateway
    jail_ip6: List[str]
    #: --jail2: not supported yet: uWSGI option, not supported yet by gateway
    jail2: List[str]
    #: --jail-attach: not supported yet: uWSGI option, not supported yet by gateway
    jail_attach: Optional[str]
    #: --jidfile: not supported yet: uWSGI option, not supported yet by gateway
    jidfile: Optional[str]
    #: --cgroup: not supported yet: uWSGI option, not supported yet by gateway
    cgroup: List[str]
    #: --cgroup-opt: not supported yet: uWSGI option, not supported yet by gateway
    cgroup_opt: List[str]
    #: --cgroup-dir-mode: not supported yet: uWSGI option, not supported yet by gateway
    cgroup_dir_mode: Optional[str]
    #: --ksm: not supported yet: uWSGI option, not supported yet by gateway
    ksm: Optional[str]
    #: --refork: not supported yet: uWSGI option, not supported yet by gateway
    refork: bool
    #: --refork-as-root: not supported yet: uWSGI option, not supported yet by gateway
    refork_as_root: bool
    #: --refork-post-jail: not supported yet: uWSGI option, not supported yet by gateway
    refork_post_jail: bool
    #: --forkbomb-delay: not supported yet: uWSGI option, not supported yet by gateway
    forkbomb_delay: Optional[str]
    #: --inject-before: the config files read after this option get FILE's text before their own (before the magic variable…
    inject_before: List[str]
    #: --inject-after: the config files read after this option get FILE's text after their own
    inject_after: List[str]
    #: --blacklist: the options after this one may not be any of these (space-separated, any spelling of each): one is…
    blacklist: Optional[str]
    #: --end-blacklist: end the --blacklist context
    end_blacklist: bool
    #: --whitelist: the options after this one must be among these (list end-whitelist to be able to end the context, a…
    whitelist: Optional[str]
    #: --end-whitelist: end the --whitelist context
    end_whitelist: bool
    #: --resolve: look NAME up in the DNS (its first IPv4 address) into placeholder %(PLACEHOLDER), while the sources…
    resolve: List[str]
    #: --exit: stop reading the configuration here and exit with STATUS (alone: 1), after the --print texts before…
    exit: Optional[int]
    #: --reload-on-fd: gracefully reload when the inherited descriptor FD is readable (BYTES read from it, default 1; MESS…
    reload_on_fd: List[Tuple[int, int, str]]
    #: --brutal-reload-on-fd: brutally reload (workers killed at once) when FD is readable; implies a master
    brutal_reload_on_fd: List[Tuple[int, int, str]]
    #: --check-mountpoint: destroy the instance (workers killed, exit status 1) when the filesystem of PATH no longer answers…
    check_mountpoint: List[str]
    #: --notify-socket: bind a UNIX datagram socket at PATH and log every datagram it receives as [notify-socket] TEXT; imp…
    notify_socket: Optional[str]
    #: --worker-exec: each worker runs PROGRAM instead (execvp, no arguments) with the first socket as its standard input…
    worker_exec: Optional[str]
    #: --worker-exec2: --worker-exec once the worker's --hook-post-fork hooks have run
    worker_exec2: Optional[str]
    #: --signal-bufsize: SO_SNDBUF and SO_RCVBUF of the uWSGI signal socketpairs between the master and each worker (0: the…
    signal_bufsize: int
    #: --mem-collector-freq: seconds between two measures of the workers' memory for --evil-reload-on-rss/-as (gateway's default…
    mem_collector_freq: int
    #: --safe-fd: keep the inherited descriptor FD open in what gateway starts: the Emperor's vassals and the --worke…
    safe_fd: List[int]
    #: --thunder-lock-watchdog: accepted: gateway has no thunder lock mutex to watch (see --thunder-lock)
    thunder_lock_watchdog: bool
    #: --pcre-jit: accepted: gateway's regular expressions are Python's re (no PCRE to JIT-compile)
    pcre_jit: bool
    #: --backtrace-depth: accepted: gateway prints no C backtrace when a process crashes (its Python exceptions are logged wi…
    backtrace_depth: int
    #: --persistent-ipcsem: accepted: gateway creates no SysV semaphores to keep or remove
    persistent_ipcsem: bool
    #: --ftok: accepted: gateway's locks use no SysV IPC key
    ftok: Optional[str]
    #: --lock-engine: accepted: gateway's locks are record locks on a shared file, released by the kernel when their hold…
    lock_engine: Optional[str]
    #: --clock: accepted: gateway has one clock, unix (time.time(); see --clock-list)
    clock: Optional[str]
    #: --disable-async-warn-on-queue-full: accepted: gateway never logs uWSGI's 'async queue is full' warning (a connection waits for a free c…
    disable_async_warn_on_queue_full: bool
    #: --harakiri-no-arh: accepted: gateway runs no after-request hook for harakiri to cover
    harakiri_no_arh: bool
    #: --propagate-touch: accepted: the master watches the touch files itself, nothing goes through the workers' signals
    propagate_touch: bool
    #: --drop-after-init: accepted: gateway always drops privileges once its sockets are bound, before the app is loaded
    drop_after_init: bool
    #: --no-fd-passing: accepted: gateway's sockets never take descriptors passed with a request (uWSGI's own code for it i…
    no_fd_passing: bool
    #: --drop-after-apps: not supported yet: uWSGI option, not supported yet by gateway
    drop_after_apps: bool
    #: --after-request-hook: not supported yet: uWSGI option, not supported yet by gateway
    after_request_hook: List[str]
    #: --dlopen: not supported yet: uWSGI option, not supported yet by gateway
    dlopen: List[str]
    #: --call-as-vassal: not supported yet: uWSGI option, not supported yet by gateway
    call_as_vassal: List[str]
    #: --call-as-vassal1: not supported yet: uWSGI option, not supported yet by gateway
    call_as_vassal1: List[str]
    #: --call-as-vassal3: not supported yet: uWSGI option, not supported yet by gateway
    call_as_vassal3: List[str]
    #: --call-as-emperor: not supported yet: uWSGI option, not supported yet by gateway
    call_as_emperor: List[str]
    #: --call-as-emperor1: not supported yet: uWSGI option, not supported yet by gateway
    call_as_emperor1: List[str]
    #: --call-as-emperor2: not supported yet: uWSGI option, not supported yet by gateway
    call_as_emperor2: List[str]
    #: --call-as-emperor4: not supported yet: uWSGI option, not supported yet by gateway
    call_as_emperor4: List[str]
    #: --autoload: not supported yet: uWSGI option, not supported yet by gateway
    autoload: bool
    #: --mode: not supported yet: uWSGI option, not supported yet by gateway
    mode: Optional[str]
    #: --command-mode: not supported yet: uWSGI option, not supported yet by gateway
    command_mode: bool
    #: --force-gateway: not supported yet: uWSGI option, not supported yet by gateway
    force_gateway: bool
    #: --no-server: not supported yet: uWSGI option, not supported yet by gateway
    no_server: bool
    #: --cgi-mode: not supported yet: uWSGI option, not supported yet by gateway
    cgi_mode: bool
    #: --binary-path: not supported yet: uWSGI option, not supported yet by gateway
    binary_path: Optional[str]
    #: --binary-append-data: not supported yet: uWSGI option, not supported yet by gateway
    binary_append_data: Optional[str]
    #: --fork-server: not supported yet: uWSGI option, not supported yet by gateway
    fork_server: Optional[str]
    #: --fork-socket: not supported yet: uWSGI option, not supported yet by gateway
    fork_socket: Optional[str]
    #: --udp: not supported yet: uWSGI option, not supported yet by gateway
    udp: Optional[str]
    #: --profiler: not supported yet: uWSGI option, not supported yet by gateway
    profiler: Optional[str]
    #: --exception-handler: not supported yet: uWSGI option, not supported yet by gateway
    exception_handler: List[str]
    #: --raw-socket: not supported yet: uWSGI option, not supported yet by gateway
    raw_socket: List[str]
    #: --raw-modifier1: not supported yet: uWSGI option, not supported yet by gateway
    raw_modifier1: Optional[str]
    #: --raw-modifier2: not supported yet: uWSGI option, not supported yet by gateway
    raw_modifier2: Optional[str]
    #: --puwsgi-socket: not supported yet: uWSGI option, not supported yet by gateway
    puwsgi_socket: List[str]
    #: --zeus: not supported yet: uWSGI option, not supported yet by gateway
    zeus: Optional[str]
    #: --snmp: not supported yet: uWSGI option, not supported yet by gateway
    snmp: Optional[str]
    #: --snmp-community: not supported yet: uWSGI option, not supported yet by gateway
    snmp_community: Optional[str]
    #: --legion: not supported yet: uWSGI option, not supported yet by gateway
    legion: List[str]
    #: --legion-mcast: not supported yet: uWSGI option, not supported yet by gateway
    legion_mcast: List[str]
    #: --legion-node: not supported yet: uWSGI option, not supported yet by gateway
    legion_node: List[str]
    #: --legion-quorum: not supported yet: uWSGI option, not supported yet by gateway
    legion_quorum: List[str]
    #: --legion-scroll: not supported yet: uWSGI option, not supported yet by gateway
    legion_scroll: List[str]
    #: --legion-scroll-max-size: not supported yet: uWSGI option, not supported yet by gateway
    legion_scroll_max_size: List[str]
    #: --legion-scroll-list-max-size: not supported yet: uWSGI option, not supported yet by gateway
    legion_scroll_list_max_size: List[str]
    #: --legion-lord: not supported yet: uWSGI option, not supported yet by gateway
    legion_lord: List[str]
    #: --legion-unlord: not supported yet: uWSGI option, not supported yet by gateway
    legion_unlord: List[str]
    #: --legion-setup: not supported yet: uWSGI option, not supported yet by gateway
    legion_setup: List[str]
    #: --legion-death: not supported yet: uWSGI option, not supported yet by gateway
    legion_death: List[str]
    #: --legion-death-on-lord-error: not supported yet: uWSGI option, not supported yet by gateway
    legion_death_on_lord_error: List[str]
    #: --legion-join: not supported yet: uWSGI option, not supported yet by gateway
    legion_join: List[str]
    #: --legion-node-joined: not supported yet: uWSGI option, not supported yet by gateway
    legion_node_joined: List[str]
    #: --legion-node-left: not supported yet: uWSGI option, not supported yet by gateway
    legion_node_left: List[str]
    #: --legion-freq: not supported yet: uWSGI option, not supported yet by gateway
    legion_freq: List[str]
    #: --legion-tolerance: not supported yet: uWSGI option, not supported yet by gateway
    legion_tolerance: List[str]
    #: --legion-skew-tolerance: not supported yet: uWSGI option, not supported yet by gateway
    legion_skew_tolerance: List[str]
    #: --legion-cron: not supported yet: uWSGI option, not supported yet by gateway
    legion_cron: List[str]
    #: --cron-legion: not supported yet: uWSGI option, not supported yet by gateway
    cron_legion: List[str]
    #: --unique-cron-legion: not supported yet: uWSGI option, not supported yet by gateway
    unique_cron_legion: List[str]
    #: --unique-legion-cron: not supported yet: uWSGI option, not supported yet by gateway
    unique_legion_cron: List[str]
    #: --legion-attach-daemon: not supported yet: uWSGI option, not supported yet by gateway
    legion_attach_daemon: List[str]
    #: --legion-smart-attach-daemon: not supported yet: uWSGI option, not supported yet by gateway
    legion_smart_attach_daemon: List[str]
    #: --legion-smart-attach-daemon2: not supported yet: uWSGI option, not supported yet by gateway
    legion_smart_attach_daemon2: List[str]
    #: --zerg: not supported yet: uWSGI option, not supported yet by gateway
    zerg: List[str]
    #: --zerg-server: not supported yet: uWSGI option, not supported yet by gateway
    zerg_server: Optional[str]
    #: --zerg-fallback: not supported yet: uWSGI option, not supported yet by gateway
    zerg_fallback: bool
    #: --multicast: not supported yet: uWSGI option, not supported yet by gateway
    multicast: Optional[str]
    #: --multicast-ttl: not supported yet: uWSGI option, not supported yet by gateway
    multicast_ttl: Optional[str]
    #: --multicast-loop: not supported yet: uWSGI option, not supported yet by gateway
    multicast_loop: Optional[str]
    #: --fastrouter: run the FastRouter (a uwsgi proxy process, "uWSGI fastrouter 1") on ADDR (host:port, a UNIX path or…
    fastrouter: List[str]
    #: --fastrouter-to: a uwsgi node the FastRouter forwards to; repeat for round-robin with failover to the next on refusal
    fastrouter_to: List[str]
    #: --fastrouter-use-socket: the FastRouter forwards to this instance's uwsgi --socket N (0 alone)
    fastrouter_use_socket: Optional[int]
    #: --fastrouter-fallback: FastRouter: a node tried, in the order given, when every other candidate refused
    fastrouter_fallback: List[str]
    #: --fastrouter-processes: run N FastRouter processes on the same sockets
    fastrouter_processes: int
    #: --fastrouter-timeout: FastRouter: close a connection silent (both ways) for SECONDS
    fastrouter_timeout: int
    #: --fastrouter-stats: FastRouter: a stats server on ADDR answering each connection with uWSGI's corerouter JSON, subscrip…
    fastrouter_stats: Optional[str]
    #: --fastrouter-quiet: FastRouter: do not log failed connections to nodes
    fastrouter_quiet: bool
    #: --fastrouter-buffer-size: FastRouter: the largest uwsgi vars block accepted from a client (0: 65535)
    fastrouter_buffer_size: int
    #: --fastrouter-force-key: FastRouter: route every request by KEY instead of its vars
    fastrouter_force_key: Optional[str]
    #: --fastrouter-subscription-server: FastRouter: receive uWSGI subscription announces on this UDP address and route each request to a no…
    fastrouter_subscription_server: List[str]
    #: --fastrouter-fallback-on-no-key: FastRouter: a request whose key has no subscribed node goes to the --fastrouter-fallback nodes (by…
    fastrouter_fallback_on_no_key: bool
    #: --fastrouter-subscription-fallback-key: FastRouter: the subscription key used when a request's key has no node
    fastrouter_subscription_fallback_key: Optional[str]
    #: --subscription-tolerance: a subscription server drops a node that sent no announce for SECONDS
    subscription_tolerance: int
    #: --subscription-max-keys: a subscription server keeps at most N keys (an announce for one more is refused with one rate-limit…
    subscription_max_keys: int
    #: --subscription-max-nodes: a subscription server keeps at most N nodes over all its keys (gateway only)
    subscription_max_nodes: int
    #: --subscription-max-nodes-per-key: a subscription server keeps at most N nodes per key (gateway only)
    subscription_max_nodes_per_key: int
    #: --fastrouter-events: accepted: uWSGI's event batch size; the loop has no such setting
    fastrouter_events: int
    #: --fastrouter-zerg: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_zerg: Optional[str]
    #: --fastrouter-use-cache: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_use_cache: Optional[str]
    #: --fastrouter-use-pattern: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_use_pattern: Optional[str]
    #: --fastrouter-use-base: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_use_base: Optional[str]
    #: --fastrouter-use-code-string: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_use_code_string: Optional[str]
    #: --fastrouter-gracetime: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_gracetime: Optional[str]
    #: --fastrouter-cheap: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_cheap: bool
    #: --fastrouter-subscription-slot: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_subscription_slot: Optional[str]
    #: --fastrouter-post-buffering: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_post_buffering: Optional[str]
    #: --fastrouter-post-buffering-dir: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_post_buffering_dir: Optional[str]
    #: --fastrouter-harakiri: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_harakiri: Optional[str]
    #: --fastrouter-uid: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_uid: Optional[str]
    #: --fastrouter-gid: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_gid: Optional[str]
    #: --fastrouter-resubscribe: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_resubscribe: Optional[str]
    #: --fastrouter-resubscribe-bind: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_resubscribe_bind: Optional[str]
    #: --fastrouter-emperor-socket: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_emperor_socket: Optional[str]
    #: --fastrouter-defer-connect-timeout: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_defer_connect_timeout: Optional[str]
    #: --fastrouter-max-retries: not supported yet: uWSGI option, not supported yet by gateway
    fastrouter_max_retries: Optional[str]
    #: --subscribe-to: announce this instance (its first socket, or SOCKET; =N= for its N-th) under KEY to the subscriptio…
    subscribe_to: List[str]
    #: --subscribe2: as --subscribe-to in key=value form: server, key, socket (a number), addr, weight, modifier1, modif…
    subscribe2: List[str]
    #: --subscribe-freq: send the subscription announces every SECONDS
    subscribe_freq: int
    #: --weight: the weight announced to subscription servers for weighted round-robin (0, the default, counts as 1)
    weight: int
    #: --auto-weight: announce processes x cores as the weight
    auto_weight: bool
    #: --subscribe-with-modifier1: announce this modifier1 whatever the subscription says
    subscribe_with_modifier1: Optional[int]
    #: --unsubscribe-on-graceful-reload: unsubscribe while a graceful reload runs, subscribe again once it is over
    unsubscribe_on_graceful_reload: bool
    #: --start-unsubscribed: configure the subscriptions but send nothing until the master FIFO's S
    start_unsubscribed: bool
    #: --subscription-algo: not supported yet: uWSGI option, not supported yet by gateway
    subscription_algo: Optional[str]
    #: --subscription-mountpoint: not supported yet: uWSGI option, not supported yet by gateway
    subscription_mountpoint: Optional[str]
    #: --subscription-mountpoints: not supported yet: uWSGI option, not supported yet by gateway
    subscription_mountpoints: Optional[str]
    #: --subscription-notify-socket: not supported yet: uWSGI option, not supported yet by gateway
    subscription_notify_socket: Optional[str]
    #: --subscription-tolerance-inactive: not supported yet: uWSGI option, not supported yet by gateway
    subscription_tolerance_inactive: Optional[str]
    #: --subscriptions-credentials-check: not supported yet: uWSGI option, not supported yet by gateway
    subscriptions_credentials_check: Optional[str]
    #: --subscriptions-sign-check: not supported yet: uWSGI option, not supported yet by gateway
    subscriptions_sign_check: Optional[str]
    #: --subscriptions-sign-check-tolerance: not supported yet: uWSGI option, not supported yet by gateway
    subscriptions_sign_check_tolerance: Optional[str]
    #: --subscriptions-sign-skip-uid: not supported yet: uWSGI option, not supported yet by gateway
    subscriptions_sign_skip_uid: Optional[str]
    #: --subscription-clear-on-shutdown: not supported yet: uWSGI option, not supported yet by gateway
    subscription_clear_on_shutdown: bool
    #: --subscription-dotsplit: not supported yet: uWSGI option, not supported yet by gateway
    subscription_dotsplit: bool
    #: --subscription-vassal-required: not supported yet: uWSGI option, not supported yet by gateway
    subscription_vassal_required: bool
    #: --subscriptions-use-credentials: not supported yet: uWSGI option, not supported yet by gateway
    subscriptions_use_credentials: bool
    #: --rawrouter: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter: Optional[str]
    #: --rawrouter-processes: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_processes: Optional[str]
    #: --rawrouter-zerg: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_zerg: Optional[str]
    #: --rawrouter-use-cache: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_use_cache: bool
    #: --rawrouter-use-pattern: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_use_pattern: Optional[str]
    #: --rawrouter-use-base: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_use_base: Optional[str]
    #: --rawrouter-fallback: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_fallback: Optional[str]
    #: --rawrouter-use-code-string: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_use_code_string: Optional[str]
    #: --rawrouter-use-socket: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_use_socket: bool
    #: --rawrouter-to: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_to: Optional[str]
    #: --rawrouter-gracetime: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_gracetime: Optional[str]
    #: --rawrouter-events: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_events: Optional[str]
    #: --rawrouter-max-retries: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_max_retries: Optional[str]
    #: --rawrouter-quiet: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_quiet: Optional[str]
    #: --rawrouter-cheap: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_cheap: bool
    #: --rawrouter-subscription-server: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_subscription_server: Optional[str]
    #: --rawrouter-subscription-slot: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_subscription_slot: Optional[str]
    #: --rawrouter-timeout: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_timeout: Optional[str]
    #: --rawrouter-stats: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_stats: Optional[str]
    #: --rawrouter-harakiri: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_harakiri: Optional[str]
    #: --rawrouter-xclient: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_xclient: bool
    #: --rawrouter-buffer-size: not supported yet: uWSGI option, not supported yet by gateway
    rawrouter_buffer_size: Optional[str]
    #: --sslrouter: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter: Optional[str]
    #: --sslrouter2: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter2: Optional[str]
    #: --sslrouter-session-context: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_session_context: Optional[str]
    #: --sslrouter-processes: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_processes: Optional[str]
    #: --sslrouter-zerg: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_zerg: Optional[str]
    #: --sslrouter-use-cache: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_use_cache: bool
    #: --sslrouter-use-pattern: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_use_pattern: Optional[str]
    #: --sslrouter-use-base: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_use_base: Optional[str]
    #: --sslrouter-fallback: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_fallback: Optional[str]
    #: --sslrouter-use-code-string: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_use_code_string: Optional[str]
    #: --sslrouter-use-socket: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_use_socket: bool
    #: --sslrouter-to: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_to: Optional[str]
    #: --sslrouter-gracetime: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_gracetime: Optional[str]
    #: --sslrouter-events: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_events: Optional[str]
    #: --sslrouter-max-retries: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_max_retries: Optional[str]
    #: --sslrouter-quiet: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_quiet: Optional[str]
    #: --sslrouter-cheap: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_cheap: bool
    #: --sslrouter-subscription-server: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_subscription_server: Optional[str]
    #: --sslrouter-timeout: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_timeout: Optional[str]
    #: --sslrouter-stats: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_stats: Optional[str]
    #: --sslrouter-harakiri: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_harakiri: Optional[str]
    #: --sslrouter-sni: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_sni: bool
    #: --sslrouter-buffer-size: not supported yet: uWSGI option, not supported yet by gateway
    sslrouter_buffer_size: Optional[str]
    #: --forkptyrouter: not supported yet: uWSGI option, not supported yet by gateway
    forkptyrouter: Optional[str]
    #: --forkptyurouter: not supported yet: uWSGI option, not supported yet by gateway
    forkptyurouter: Optional[str]
    #: --forkptyrouter-command: not supported yet: uWSGI option, not supported yet by gateway
    forkptyrouter_command: Optional[str]
    #: --forkptyrouter-rows: not supported yet: uWSGI option, not supported yet by gateway
    forkptyrouter_rows: Optional[str]
    #: --forkptyrouter-cols: not supported yet: uWSGI option, not supported yet by gateway
    forkptyrouter_cols: Optional[str]
    #: --forkptyrouter-processes: not supported yet: uWSGI option, not supported yet by gateway
    forkptyrouter_processes: Optional[str]
    #: --forkptyrouter-zerg: not supported yet: uWSGI option, not supported yet by gateway
    forkptyrouter_zerg: Optional[str]
    #: --forkptyrouter-fallback: not supported yet: uWSGI option, not supported yet by gateway
    forkptyrouter_fallback: Optional[str]
    #: --forkptyrouter-events: not supported yet: uWSGI option, not supported yet by gateway
    forkptyrouter_events: Optional[str]
    #: --forkptyrouter-cheap: not supported yet: uWSGI option, not supported yet by gateway
    forkptyrouter_cheap: bool
    #: --forkptyrouter-timeout: not supported yet: uWSGI option, not supported yet by gateway
    forkptyrouter_timeout: Optional[str]
    #: --forkptyrouter-stats: not supported yet: uWSGI option, not supported yet by gateway
    forkptyrouter_stats: Optional[str]
    #: --forkptyrouter-harakiri: not supported yet: uWSGI option, not supported yet by gateway
    forkptyrouter_harakiri: Optional[str]
    #: --pty-socket: not supported yet: uWSGI option, not supported yet by gateway
    pty_socket: Optional[str]
    #: --pty-log: not supported yet: uWSGI option, not supported yet by gateway
    pty_log: bool
    #: --pty-input: not supported yet: uWSGI option, not supported yet by gateway
    pty_input: bool
    #: --pty-connect: not supported yet: uWSGI option, not supported yet by gateway
    pty_connect: Optional[str]
    #: --pty-uconnect: not supported yet: uWSGI option, not supported yet by gateway
    pty_uconnect: Optional[str]
    #: --pty-no-isig: not supported yet: uWSGI option, not supported yet by gateway
    pty_no_isig: bool
    #: --pty-exec: not supported yet: uWSGI option, not supported yet by gateway
    pty_exec: Optional[str]
    #: --tuntap-router: not supported yet: uWSGI option, not supported yet by gateway
    tuntap_router: Optional[str]
    #: --tuntap-device: not supported yet: uWSGI option, not supported yet by gateway
    tuntap_device: Optional[str]
    #: --tuntap-use-credentials: not supported yet: uWSGI option, not supported yet by gateway
    tuntap_use_credentials: bool
    #: --tuntap-router-firewall-in: not supported yet: uWSGI option, not supported yet by gateway
    tuntap_router_firewall_in: Optional[str]
    #: --tuntap-router-firewall-out: not supported yet: uWSGI option, not supported yet by gateway
    tuntap_router_firewall_out: Optional[str]
    #: --tuntap-router-route: not supported yet: uWSGI option, not supported yet by gateway
    tuntap_router_route: Optional[str]
    #: --tuntap-router-stats: not supported yet: uWSGI option, not supported yet by gateway
    tuntap_router_stats: Optional[str]
    #: --tuntap-device-rule: not supported yet: uWSGI option, not supported yet by gateway
    tuntap_device_rule: Optional[str]
    #: --gevent-monkey-patch: not supported yet: uWSGI option, not supported yet by gateway
    gevent_monkey_patch: bool
    #: --gevent-early-monkey-patch: not supported yet: uWSGI option, not supported yet by gateway
    gevent_early_monkey_patch: bool
    #: --gevent-wait-for-hub: not supported yet: uWSGI option, not supported yet by gateway
    gevent_wait_for_hub: bool
    #: --ugreen-stacksize: not supported yet: uWSGI option, not supported yet by gateway
    ugreen_stacksize: Optional[str]
    #: --stackless: not supported yet: uWSGI option, not supported yet by gateway
    stackless: bool
    #: --pypy-lib: not supported yet: uWSGI option, not supported yet by gateway
    pypy_lib: Optional[str]
    #: --pypy-setup: not supported yet: uWSGI option, not supported yet by gateway
    pypy_setup: Optional[str]
    #: --pypy-home: not supported yet: uWSGI option, not supported yet by gateway
    pypy_home: Optional[str]
    #: --pypy-paste: not supported yet: uWSGI option, not supported yet by gateway
    pypy_paste: Optional[str]
    #: --pypy-eval: not supported yet: uWSGI option, not supported yet by gateway
    pypy_eval: Optional[str]
    #: --pypy-eval-post-fork: not supported yet: uWSGI option, not supported yet by gateway
    pypy_eval_post_fork: Optional[str]
    #: --pypy-exec: not supported yet: uWSGI option, not supported yet by gateway
    pypy_exec: Optional[str]
    #: --pypy-exec-post-fork: not supported yet: uWSGI option, not supported yet by gateway
    pypy_exec_post_fork: Optional[str]
    #: --zergpool: not supported yet: uWSGI option, not supported yet by gateway
    zergpool: Optional[str]
    #: --symcall: not supported yet: uWSGI option, not supported yet by gateway
    symcall: Optional[str]
    #: --symcall-use-next: not supported yet: uWSGI option, not supported yet by gateway
    symcall_use_next: bool
    #: --symcall-register-rpc: not supported yet: uWSGI option, not supported yet by gateway
    symcall_register_rpc: Optional[str]
    #: --symcall-post-fork: not supported yet: uWSGI option, not supported yet by gateway
    symcall_post_fork: Optional[str]
    #: --rrdtool: not supported yet: uWSGI option, not supported yet by gateway
    rrdtool: Optional[str]
    #: --rrdtool-freq: not supported yet: uWSGI option, not supported yet by gateway
    rrdtool_freq: Optional[str]
    #: --rrdtool-lib: not supported yet: uWSGI option, not supported yet by gateway
    rrdtool_lib: Optional[str]
    #: --zabbix-template: not supported yet: uWSGI option, not supported yet by gateway
    zabbix_template: bool
    #: --nagios: not supported yet: uWSGI option, not supported yet by gateway
    nagios: bool
    #: --curl-cron: not supported yet: uWSGI option, not supported yet by gateway
    curl_cron: Optional[str]
    #: --legion-curl-cron: not supported yet: uWSGI option, not supported yet by gateway
    legion_curl_cron: Optional[str]
    #: --zeromq: not supported yet: uWSGI option, not supported yet by gateway
    zeromq: Optional[str]
    #: --log-zeromq: not supported yet: uWSGI option, not supported yet by gateway
    log_zeromq: Optional[str]
    #: --sqlite3: not supported yet: uWSGI option, not supported yet by gateway
    sqlite3: Optional[str]
    #: --ldap: not supported yet: uWSGI option, not supported yet by gateway
    ldap: Optional[str]
    #: --ldap-schema: not supported yet: uWSGI option, not supported yet by gateway
    ldap_schema: bool
    #: --ldap-schema-ldif: not supported yet: uWSGI option, not supported yet by gateway
    ldap_schema_ldif: bool
    #: --cgi: not supported yet: uWSGI option, not supported yet by gateway
    cgi: Optional[str]
    #: --cgi-map-helper: not supported yet: uWSGI option, not supported yet by gateway
    cgi_map_helper: Optional[str]
    #: --cgi-from-docroot: not supported yet: uWSGI option, not supported yet by gateway
    cgi_from_docroot: bool
    #: --cgi-buffer-size: not supported yet: uWSGI option, not supported yet by gateway
    cgi_buffer_size: Optional[str]
    #: --cgi-timeout: not supported yet: uWSGI option, not supported yet by gateway
    cgi_timeout: Optional[str]
    #: --cgi-index: not supported yet: uWSGI option, not supported yet by gateway
    cgi_index: Optional[str]
    #: --cgi-allowed-ext: not supported yet: uWSGI option, not supported yet by gateway
    cgi_allowed_ext: Optional[str]
    #: --cgi-unset: not supported yet: uWSGI option, not supported yet by gateway
    cgi_unset: Optional[str]
    #: --cgi-loadlib: not supported yet: uWSGI option, not supported yet by gateway
    cgi_loadlib: Optional[str]
    #: --cgi-optimize: not supported yet: uWSGI option, not supported yet by gateway
    cgi_optimize: bool
    #: --cgi-path-info: not supported yet: uWSGI option, not supported yet by gateway
    cgi_path_info: bool
    #: --cgi-do-not-kill-on-error: not supported yet: uWSGI option, not supported yet by gateway
    cgi_do_not_kill_on_error: bool
    #: --cgi-async-max-attempts: not supported yet: uWSGI option, not supported yet by gateway
    cgi_async_max_attempts: bool
    #: --cgi-close-stdin-on-eof: not supported yet: uWSGI option, not supported yet by gateway
    cgi_close_stdin_on_eof: bool
    #: --cgi-safe: not supported yet: uWSGI option, not supported yet by gateway
    cgi_safe: Optional[str]
    #: --cgi-dontresolve: not supported yet: uWSGI option, not supported yet by gateway
    cgi_dontresolve: bool
    #: --php-ini: not supported yet: uWSGI option, not supported yet by gateway
    php_ini: Optional[str]
    #: --php-ini-append: not supported yet: uWSGI option, not supported yet by gateway
    php_ini_append: Optional[str]
    #: --php-set: not supported yet: uWSGI option, not supported yet by gateway
    php_set: Optional[str]
    #: --php-index: not supported yet: uWSGI option, not supported yet by gateway
    php_index: Optional[str]
    #: --php-docroot: not supported yet: uWSGI option, not supported yet by gateway
    php_docroot: Optional[str]
    #: --php-allowed-docroot: not supported yet: uWSGI option, not supported yet by gateway
    php_allowed_docroot: Optional[str]
    #: --php-allowed-ext: not supported yet: uWSGI option, not supported yet by gateway
    php_allowed_ext: Optional[str]
    #: --php-allowed-script: not supported yet: uWSGI option, not supported yet by gateway
    php_allowed_script: Optional[str]
    #: --php-server-software: not supported yet: uWSGI option, not supported yet by gateway
    php_server_software: Optional[str]
    #: --php-app: not supported yet: uWSGI option, not supported yet by gateway
    php_app: Optional[str]
    #: --php-app-qs: not supported yet: uWSGI option, not supported yet by gateway
    php_app_qs: Optional[str]
    #: --php-fallback: not supported yet: uWSGI option, not supported yet by gateway
    php_fallback: Optional[str]
    #: --php-fallback2: not supported yet: uWSGI option, not supported yet by gateway
    php_fallback2: Optional[str]
    #: --php-fallback-qs: not supported yet: uWSGI option, not supported yet by gateway
    php_fallback_qs: Optional[str]
    #: --php-app-bypass: not supported yet: uWSGI option, not supported yet by gateway
    php_app_bypass: Optional[str]
    #: --php-var: not supported yet: uWSGI option, not supported yet by gateway
    php_var: Optional[str]
    #: --php-constant: not supported yet: uWSGI option, not supported yet by gateway
    php_constant: Optional[str]
    #: --php-dump-config: not supported yet: uWSGI option, not supported yet by gateway
    php_dump_config: bool
    #: --php-exec-before: not supported yet: uWSGI option, not supported yet by gateway
    php_exec_before: Optional[str]
    #: --php-exec-after: not supported yet: uWSGI option, not supported yet by gateway
    php_exec_after: Optional[str]
    #: --php-sapi-name: not supported yet: uWSGI option, not supported yet by gateway
    php_sapi_name: Optional[str]
    #: --early-php: not supported yet: uWSGI option, not supported yet by gateway
    early_php: bool
    #: --php-mount: not supported yet: uWSGI option, not supported yet by gateway
    php_mount: Optional[str]
    #: --psgi: not supported yet: uWSGI option, not supported yet by gateway
    psgi: Optional[str]
    #: --psgi-enable-psgix-io: not supported yet: uWSGI option, not supported yet by gateway
    psgi_enable_psgix_io: bool
    #: --perl-no-die-catch: not supported yet: uWSGI option, not supported yet by gateway
    perl_no_die_catch: bool
    #: --perl-local-lib: not supported yet: uWSGI option, not supported yet by gateway
    perl_local_lib: Optional[str]
    #: --perl-version: not supported yet: uWSGI option, not supported yet by gateway
    perl_version: bool
    #: --perl-args: not supported yet: uWSGI option, not supported yet by gateway
    perl_args: Optional[str]
    #: --perl-arg: not supported yet: uWSGI option, not supported yet by gateway
    perl_arg: Optional[str]
    #: --perl-exec: not supported yet: uWSGI option, not supported yet by gateway
    perl_exec: Optional[str]
    #: --perl-exec-post-fork: not supported yet: uWSGI option, not supported yet by gateway
    perl_exec_post_fork: Optional[str]
    #: --perl-auto-reload: not supported yet: uWSGI option, not supported yet by gateway
    perl_auto_reload: Optional[str]
    #: --perl-auto-reload-ignore: not supported yet: uWSGI option, not supported yet by gateway
    perl_auto_reload_ignore: Optional[str]
    #: --plshell: not supported yet: uWSGI option, not supported yet by gateway
    plshell: bool
    #: --perl-no-plack: not supported yet: uWSGI option, not supported yet by gateway
    perl_no_plack: bool
    #: --early-perl: not supported yet: uWSGI option, not supported yet by gateway
    early_perl: Optional[str]
    #: --early-psgi: not supported yet: uWSGI option, not supported yet by gateway
    early_psgi: Optional[str]
    #: --early-perl-exec: not supported yet: uWSGI option, not supported yet by gateway
    early_perl_exec: Optional[str]
    #: --coroae: not supported yet: uWSGI option, not supported yet by gateway
    coroae: Optional[str]
    #: --rails: not supported yet: uWSGI option, not supported yet by gateway
    rails: Optional[str]
    #: --rack: not supported yet: uWSGI option, not supported yet by gateway
    rack: Optional[str]
    #: --ruby-gc-freq: not supported yet: uWSGI option, not supported yet by gateway
    ruby_gc_freq: Optional[str]
    #: --rb-lib: not supported yet: uWSGI option, not supported yet by gateway
    rb_lib: Optional[str]
    #: --rb-require: not supported yet: uWSGI option, not supported yet by gateway
    rb_require: Optional[str]
    #: --shared-rb-require: not supported yet: uWSGI option, not supported yet by gateway
    shared_rb_require: Optional[str]
    #: --gemset: not supported yet: uWSGI option, not supported yet by gateway
    gemset: Optional[str]
    #: --rvm-path: not supported yet: uWSGI option, not supported yet by gateway
    rvm_path: Optional[str]
    #: --rbshell: not supported yet: uWSGI option, not supported yet by gateway
    rbshell: bool
    #: --rbthreads: not supported yet: uWSGI option, not supported yet by gateway
    rbthreads: bool
    #: --fiber: not supported yet: uWSGI option, not supported yet by gateway
    fiber: bool
    #: --lua: not supported yet: uWSGI option, not supported yet by gateway
    lua: Optional[str]
    #: --lua-load: not supported yet: uWSGI option, not supported yet by gateway
    lua_load: Optional[str]
    #: --lua-postload: not supported yet: uWSGI option, not supported yet by gateway
    lua_postload: Optional[str]
    #: --lua-postfork-worker: not supported yet: uWSGI option, not supported yet by gateway
    lua_postfork_worker: Optional[str]
    #: --lua-postfork-mule: not supported yet: uWSGI option, not supported yet by gateway
    lua_postfork_mule: Optional[str]
    #: --lua-postfork-spooler: not supported yet: uWSGI option, not supported yet by gateway
    lua_postfork_spooler: Optional[str]
    #: --lua-shell: not supported yet: uWSGI option, not supported yet by gateway
    lua_shell: bool
    #: --lua-shell-oneshot: not supported yet: uWSGI option, not supported yet by gateway
    lua_shell_oneshot: bool
    #: --lua-gc-freq: not supported yet: uWSGI option, not supported yet by gateway
    lua_gc_freq: Optional[str]
    #: --lua-gc-full: not supported yet: uWSGI option, not supported yet by gateway
    lua_gc_full: bool
    #: --jvm-main-class: not supported yet: uWSGI option, not supported yet by gateway
    jvm_main_class: Optional[str]
    #: --jvm-opt: not supported yet: uWSGI option, not supported yet by gateway
    jvm_opt: Optional[str]
    #: --jvm-class: not supported yet: uWSGI option, not supported yet by gateway
    jvm_class: Optional[str]
    #: --jvm-classpath: not supported yet: uWSGI option, not supported yet by gateway
    jvm_classpath: Optional[str]
    #: --jwsgi: not supported yet: uWSGI option, not supported yet by gateway
    jwsgi: Optional[str]
    #: --ring-load: not supported yet: uWSGI option, not supported yet by gateway
    ring_load: Optional[str]
    #: --ring-app: not supported yet: uWSGI option, not supported yet by gateway
    ring_app: Optional[str]
    #: --mono-app: not supported yet: uWSGI option, not supported yet by gateway
    mono_app: Optional[str]
    #: --mono-gc-freq: not supported yet: uWSGI option, not supported yet by gateway
    mono_gc_freq: Optional[str]
    #: --mono-key: not supported yet: uWSGI option, not supported yet by gateway
    mono_key: Optional[str]
    #: --mono-version: not supported yet: uWSGI option, not supported yet by gateway
    mono_version: Optional[str]
    #: --mono-config: not supported yet: uWSGI option, not supported yet by gateway
    mono_config: Optional[str]
    #: --mono-assembly: not supported yet: uWSGI option, not supported yet by gateway
    mono_assembly: Optional[str]
    #: --mono-exec: not supported yet: uWSGI option, not supported yet by gateway
    mono_exec: Optional[str]
    #: --mono-index: not supported yet: uWSGI option, not supported yet by gateway
    mono_index: Optional[str]
    #: --v8-load: not supported yet: uWSGI option, not supported yet by gateway
    v8_load: Optional[str]
    #: --v8-preemptive: not supported yet: uWSGI option, not supported yet by gateway
    v8_preemptive: Optional[str]
    #: --v8-gc-freq: not supported yet: uWSGI option, not supported yet by gateway
    v8_gc_freq: Optional[str]
    #: --v8-module-path: not supported yet: uWSGI option, not supported yet by gateway
    v8_module_path: Optional[str]
    #: --v8-jsgi: not supported yet: uWSGI option, not supported yet by gateway
    v8_jsgi: Optional[str]
    #: --go-load: not supported yet: uWSGI option, not supported yet by gateway
    go_load: Optional[str]
    #: --go-args: not supported yet: uWSGI option, not supported yet by gateway
    go_args: Optional[str]
    #: --goroutines: not supported yet: uWSGI option, not supported yet by gateway
    goroutines: Optional[str]
    #: --dumbloop-modifier1: not supported yet: uWSGI option, not supported yet by gateway
    dumbloop_modifier1: Optional[str]
    #: --dumbloop-code: not supported yet: uWSGI option, not supported yet by gateway
    dumbloop_code: Optional[str]
    #: --dumbloop-function: not supported yet: uWSGI option, not supported yet by gateway
    dumbloop_function: Optional[str]
    #: --glusterfs-mount: not supported yet: uWSGI option, not supported yet by gateway
    glusterfs_mount: Optional[str]
    #: --glusterfs-timeout: not supported yet: uWSGI option, not supported yet by gateway
    glusterfs_timeout: Optional[str]
    #: --rados-mount: not supported yet: uWSGI option, not supported yet by gateway
    rados_mount: Optional[str]
    #: --rados-timeout: not supported yet: uWSGI option, not supported yet by gateway
    rados_timeout: Optional[str]
    #: --gridfs-mount: not supported yet: uWSGI option, not supported yet by gateway
    gridfs_mount: Optional[str]
    #: --gridfs-debug: not supported yet: uWSGI option, not supported yet by gateway
    gridfs_debug: bool
    #: --webdav-mount: not supported yet: uWSGI option, not supported yet by gateway
    webdav_mount: Optional[str]
    #: --webdav-css: not supported yet: uWSGI option, not supported yet by gateway
    webdav_css: Optional[str]
    #: --webdav-javascript: not supported yet: uWSGI option, not supported yet by gateway
    webdav_javascript: Optional[str]
    #: --webdav-class-directory: not supported yet: uWSGI option, not supported yet by gateway
    webdav_class_directory: Optional[str]
    #: --webdav-div: not supported yet: uWSGI option, not supported yet by gateway
    webdav_div: Optional[str]
    #: --webdav-lock-cache: not supported yet: uWSGI option, not supported yet by gateway
    webdav_lock_cache: Optional[str]
    #: --webdav-principal-base: not supported yet: uWSGI option, not supported yet by gateway
    webdav_principal_base: Optional[str]
    #: --webdav-add-option: not supported yet: uWSGI option, not supported yet by gateway
    webdav_add_option: Optional[str]
    #: --webdav-add-prop: not supported yet: uWSGI option, not supported yet by gateway
    webdav_add_prop: Optional[str]
    #: --webdav-add-collection-prop: not supported yet: uWSGI option, not supported yet by gateway
    webdav_add_collection_prop: Optional[str]
    #: --webdav-add-object-prop: not supported yet: uWSGI option, not supported yet by gateway
    webdav_add_object_prop: Optional[str]
    #: --webdav-add-prop-href: not supported yet: uWSGI option, not supported yet by gateway
    webdav_add_prop_href: Optional[str]
    #: --webdav-add-collection-prop-href: not supported yet: uWSGI option, not supported yet by gateway
    webdav_add_collection_prop_href: Optional[str]
    #: --webdav-add-object-prop-href: not supported yet: uWSGI option, not supported yet by gateway
    webdav_add_object_prop_href: Optional[str]
    #: --webdav-add-prop-comp: not supported yet: uWSGI option, not supported yet by gateway
    webdav_add_prop_comp: Optional[str]
    #: --webdav-add-collection-prop-comp: not supported yet: uWSGI option, not supported yet by gateway
    webdav_add_collection_prop_comp: Optional[str]
    #: --webdav-add-object-prop-comp: not supported yet: uWSGI option, not supported yet by gateway
    webdav_add_object_prop_comp: Optional[str]
    #: --webdav-add-rtype-prop: not supported yet: uWSGI option, not supported yet by gateway
    webdav_add_rtype_prop: Optional[str]
    #: --webdav-add-rtype-collection-prop: not supported yet: uWSGI option, not supported yet by gateway
    webdav_add_rtype_collection_prop: Optional[str]
    #: --webdav-add-rtype-object-prop: not supported yet: uWSGI option, not supported yet by gateway
    webdav_add_rtype_object_prop: Optional[str]
    #: --webdav-skip-prop: not supported yet: uWSGI option, not supported yet by gateway
    webdav_skip_prop: Optional[str]
    #: --xslt-docroot: not supported yet: uWSGI option, not supported yet by gateway
    xslt_docroot: Optional[str]
    #: --xslt-ext: not supported yet: uWSGI option, not supported yet by gateway
    xslt_ext: Optional[str]
    #: --xslt-var: not supported yet: uWSGI option, not supported yet by gateway
    xslt_var: Optional[str]
    #: --xslt-stylesheet: not supported yet: uWSGI option, not supported yet by gateway
    xslt_stylesheet: Optional[str]
    #: --xslt-content-type: not supported yet: uWSGI option, not supported yet by gateway
    xslt_content_type: Optional[str]
    #: --geoip-country: not supported yet: uWSGI option, not supported yet by gateway
    geoip_country: Optional[str]
    #: --geoip-city: not supported yet: uWSGI option, not supported yet by gateway
    geoip_city: Optional[str]
    #: --geoip-use-disk: not supported yet: uWSGI option, not supported yet by gateway
    geoip_use_disk: bool
    #: --pam: not supported yet: uWSGI option, not supported yet by gateway
    pam: Optional[str]
    #: --pam-user: not supported yet: uWSGI option, not supported yet by gateway
    pam_user: Optional[str]
    #: --notfound-log: not supported yet: uWSGI option, not supported yet by gateway
    notfound_log: bool
    #: --shutdown-sockets: not supported yet: uWSGI option, not supported yet by gateway
    shutdown_sockets: bool
