package edxindex

// Hand-written facts about the real projects, used to make the workload
// look like PyPI. Everything else is derived from base.txt and the seed.

// compiledProjects have extension modules, hence platform wheels.
var compiledProjects = []string{
	"aiohttp", "bcrypt", "cffi", "charset-normalizer", "cryptography",
	"fastavro", "frozenlist", "google-crc32c", "grpcio", "lxml", "markupsafe",
	"maxminddb", "msgpack", "multidict", "mysqlclient", "nh3", "numpy",
	"pillow", "propcache", "protobuf", "psutil", "psycopg2-binary",
	"pycryptodomex", "pydantic-core", "pymongo", "pynacl", "pyrsistent",
	"pyyaml", "regex", "rpds-py", "scipy", "shapely", "simplejson",
	"snowflake-connector-python", "wrapt", "xmlsec", "yarl",
}

// abi3Projects publish one cp39-abi3 wheel per platform instead of one per
// CPython version.
var abi3Projects = map[string]bool{"cryptography": true, "bcrypt": true, "pynacl": true}

// sdistOnlyProjects publish no wheel at all, so installing them builds.
var sdistOnlyProjects = map[string]bool{"mysqlclient": true}

// muslProjects also publish musllinux_1_2 wheels (about a third).
var muslProjects = map[string]bool{
	"aiohttp": true, "cffi": true, "charset-normalizer": true, "cryptography": true,
	"frozenlist": true, "markupsafe": true, "multidict": true, "numpy": true,
	"pillow": true, "propcache": true, "pyyaml": true, "rpds-py": true, "yarl": true,
}

// desktopProjects also publish Windows and macOS wheels, which a Linux
// install must skip.
var desktopProjects = map[string]bool{
	"numpy": true, "scipy": true, "pillow": true, "grpcio": true, "lxml": true,
	"psutil": true, "pyyaml": true, "markupsafe": true, "regex": true,
	"pydantic-core": true, "cryptography": true, "charset-normalizer": true,
	"google-crc32c": true, "msgpack": true, "rpds-py": true, "shapely": true,
}

// pureFallbackProjects publish a py3-none-any wheel next to the platform
// wheels; an installer must prefer the platform wheel.
var pureFallbackProjects = map[string]bool{"simplejson": true}

// py2py3Projects publish universal py2.py3-none-any wheels.
var py2py3Projects = map[string]bool{
	"six": true, "python-dateutil": true, "pytz": true, "webencodings": true,
	"monotonic": true, "html5lib": true, "ipaddress": true,
}

// displayNames are the spellings PyPI shows; names, extras and requirement
// strings must be compared normalized.
var displayNames = map[string]string{
	"django": "Django", "pyyaml": "PyYAML", "jinja2": "Jinja2",
	"markupsafe": "MarkupSafe", "pyjwt": "PyJWT", "mako": "Mako",
	"markdown": "Markdown", "xblock": "XBlock", "webob": "WebOb",
	"pynacl": "PyNaCl", "lxml-html-clean": "lxml_html_clean",
	"python3-openid": "python3-openid", "pgpy": "PGPy",
	"djangorestframework": "djangorestframework", "pycountry": "pycountry",
	"edx-opaque-keys": "edx_opaque_keys",
}

// extraChildren says which children a pinned extra pulls in; an edge is
// gated by the extra only when base.txt pins the parent with that extra.
var extraChildren = map[string]map[string][]string{
	"bleach":          {"css": {"tinycss2"}},
	"camel-converter": {"pydantic": {"pydantic"}},
	"edx-opaque-keys": {"django": {"django"}},
	"google-api-core": {"grpc": {"grpcio", "grpcio-status"}},
	"httpx":           {"http2": {"h2"}},
	"lxml":            {"html-clean": {"lxml-html-clean"}},
	"pyjwt":           {"crypto": {"cryptography"}},
	"xblock":          {"django": {"openedx-django-pyfs"}},
}

// installSizes are approximate sizes in bytes of the file a linux/amd64
// CPython 3.11 install downloads, before scaling to the 300 MB target.
var installSizes = map[string]float64{
	"numpy": 18.2e6, "scipy": 35.9e6, "botocore": 13.9e6, "babel": 10.1e6,
	"grpcio": 8.5e6, "pillow": 8.0e6, "django": 8.3e6, "sympy": 6.3e6,
	"pycountry": 6.3e6, "lxml": 5.0e6, "cryptography": 4.5e6, "ora2": 4.2e6,
	"drf-yasg": 4.3e6, "xmlsec": 3.9e6, "fastavro": 3.3e6, "psycopg2-binary": 3.0e6,
	"shapely": 3.0e6, "snowflake-connector-python": 2.7e6, "edx-enterprise": 2.5e6,
	"pycryptodomex": 2.3e6, "openedx-django-wiki": 2.2e6, "pydantic-core": 2.1e6,
	"aiohttp": 1.7e6, "edx-proctoring": 1.6e6, "nltk": 1.5e6, "xblocks-contrib": 1.5e6,
	"pynacl": 1.4e6, "pymongo": 1.2e6, "djangorestframework": 1.1e6,
	"lti-consumer-xblock": 1.0e6, "nh3": 0.8e6, "regex": 0.8e6,
	"django-countries": 0.8e6, "pyyaml": 0.76e6, "pytz": 0.5e6, "pydantic": 0.46e6,
	"celery": 0.44e6, "mysqlclient": 0.43e6, "msgpack": 0.42e6,
	"google-cloud-firestore": 0.4e6, "rpds-py": 0.39e6, "yarl": 0.37e6,
	"tzdata": 0.35e6, "protobuf": 0.32e6, "psutil": 0.29e6, "bcrypt": 0.28e6,
	"multidict": 0.25e6, "frozenlist": 0.23e6, "cffi": 0.22e6, "kombu": 0.21e6,
	"propcache": 0.21e6, "google-api-core": 0.16e6, "charset-normalizer": 0.15e6,
	"boto3": 0.14e6, "simplejson": 0.14e6, "pyrsistent": 0.12e6, "wrapt": 0.12e6,
	"maxminddb": 0.1e6, "google-crc32c": 0.033e6, "markupsafe": 0.022e6,
}

// trueMarkers hold on Linux with CPython 3.11 and 3.12 on both machines.
var trueMarkers = []string{
	`python_version >= "3.8"`,
	`python_version >= "3.9"`,
	`python_full_version >= "3.10.0"`,
	`platform_python_implementation == "CPython"`,
	`implementation_name == "cpython"`,
	`sys_platform != "win32"`,
	`os_name == "posix"`,
	`python_version < "4"`,
	`platform_system != "Windows" and python_version >= "3.7"`,
}

// outsideProject is a project that only marker-false requirements name:
// it is in the index (so a universal resolver finds it) but never in the
// Linux closure.
type outsideProject struct {
	name, version, requiresPython string
	tags                          []string
	line                          string // the Requires-Dist line naming it
}

var outsideProjects = []outsideProject{
	{"pywin32", "311", "", []string{"cp311-cp311-win_amd64", "cp312-cp312-win_amd64"}, `pywin32>=300; sys_platform == "win32"`},
	{"colorama", "0.4.6", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*, !=3.6.*", []string{"py2.py3-none-any"}, `colorama; platform_system == "Windows"`},
	{"appnope", "0.1.4", ">=3.6", []string{"py2.py3-none-any"}, `appnope; sys_platform == "darwin"`},
	{"exceptiongroup", "1.3.0", ">=3.7", []string{"py3-none-any"}, `exceptiongroup>=1.0.2; python_version < "3.11"`},
	{"tomli", "2.3.0", ">=3.8", []string{"py3-none-any"}, `tomli>=1.1.0; python_version < "3.11"`},
	{"async-timeout", "5.0.1", ">=3.8", []string{"py3-none-any"}, `async-timeout<6.0,>=4.0; python_version < "3.11"`},
	{"backports.zoneinfo", "0.2.1", ">=3.6", []string{"cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64"}, `backports.zoneinfo; python_version < "3.9"`},
	{"importlib_resources", "6.5.2", ">=3.9", []string{"py3-none-any"}, `importlib_resources>=5.0; python_version < "3.9" and platform_system != "Windows"`},
	{"pywin32-ctypes", "0.2.3", ">=3.6", []string{"py3-none-any"}, `pywin32-ctypes>=0.2.0; sys_platform == "win32" or platform_system == "Windows"`},
}

// unrequestedExtras are optional dependencies nobody asks for. Their
// projects are deliberately absent from the index: a resolver that looks
// them up has evaluated an extra it was not asked for.
var unrequestedExtras = []struct{ extra, line string }{
	{"test", `pytest>=7.0; extra == "test"`},
	{"test", `pytest-django; extra == "test"`},
	{"test", `coverage[toml]>=6.5; extra == "test"`},
	{"docs", `sphinx>=5; extra == "docs"`},
	{"docs", `sphinx-book-theme; extra == "docs"`},
	{"typing", `mypy>=1.0; extra == "typing"`},
}

// requiresPythons are Requires-Python values that admit 3.11 and 3.12.
var requiresPythons = []string{
	"", ">=3.8", ">=3.9", ">=3.10", ">=3.11", ">=3.7", ">=3.8,<4",
	">=3.9.0", "~=3.8", ">=3.9, <4",
}

const py2RequiresPython = ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*"
