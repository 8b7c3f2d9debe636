package ghactions

import (
	"regexp"
	"strings"
	"sync"
)

// families are the kinds of environment variable that change how the
// runner, a dynamic loader, an interpreter, a network client or a package
// manager behaves in every later step: setting one through GITHUB_ENV
// turns a secret's name into code execution or traffic interception. They
// are matched case-insensitively (Windows runners ignore case). Compiled
// on first use: a command that never writes GITHUB_ENV does not pay for
// them at start-up.
var families = sync.OnceValue(func() []family {
	return []family{
		{"runner", regexp.MustCompile(`^(GITHUB_|RUNNER_|ACTIONS_|INPUT_|STATE_)`)},
		{"dynamic loader", regexp.MustCompile(`^(LD_|DYLD_|GCONV_PATH$|GETCONF_DIR$|HOSTALIASES$|LOCALDOMAIN$|RES_OPTIONS$|MALLOC_|GLIBC_TUNABLES$|NLSPATH$|TMPDIR$)`)},
		{"shell", regexp.MustCompile(`^(PATH|HOME|SHELL|ENV|BASH_ENV|BASH_FUNC_.*|IFS|PS[0-4]|PROMPT_COMMAND|CDPATH|SHELLOPTS|BASHOPTS|ZDOTDIR|KSH_ENV|HISTFILE|TERMINFO|TERMCAP|EDITOR|VISUAL|PAGER|GLOBIGNORE|INPUTRC|LESSOPEN|LESSCLOSE|MANPAGER|BROWSER)$`)},
		{"interpreter", regexp.MustCompile(`^(NODE_|NPM_CONFIG_|YARN_|PYTHON|PIP_|PERL|RUBY|GEM_|BUNDLE_|JAVA_|_JAVA_OPTIONS$|JDK_JAVA_OPTIONS$|CLASSPATH$|MAVEN_|GRADLE_|DOTNET_|CORECLR_|COMPLUS_|PHP|COMPOSER_|GO(FLAGS|PROXY|PRIVATE|NOSUMDB|NOPROXY|INSECURE|SUMDB|TOOLCHAIN|ROOT|PATH|ENV|EXPERIMENT|DEBUG)$|CARGO_|RUSTC|RUSTFLAGS$|RUSTDOCFLAGS$|RUSTUP_|LUA_|TCL|R_|ELIXIR|ERL_|MIX_|HEX_|DENO_|BUN_|CC$|CXX$|CFLAGS$|CXXFLAGS$|LDFLAGS$|CPPFLAGS$|PKG_CONFIG|CMAKE_|MAKEFLAGS$|GIT_|SSH_|GNUPG|GPG_)`)},
		{"proxy", regexp.MustCompile(`^(HTTP_PROXY|HTTPS_PROXY|ALL_PROXY|NO_PROXY|FTP_PROXY|SOCKS_PROXY|SOCKS5_PROXY)$`)},
		{"certificate", regexp.MustCompile(`^(SSL_CERT_FILE|SSL_CERT_DIR|CURL_CA_BUNDLE|REQUESTS_CA_BUNDLE|NODE_EXTRA_CA_CERTS|GIT_SSL_CAINFO|AWS_CA_BUNDLE|CA_BUNDLE|OPENSSL_CONF|OPENSSL_ENGINES|SSLKEYLOGFILE|GRPC_DEFAULT_SSL_ROOTS_FILE_PATH)$`)},
		{"package manager", regexp.MustCompile(`^(DOCKER_(HOST|CONFIG|CERT_PATH|TLS_VERIFY)|CONTAINERS_CONF|REGISTRY_AUTH_FILE|HELM_|KUBECONFIG|AWS_(CONFIG_FILE|SHARED_CREDENTIALS_FILE|ENDPOINT_URL.*|PROFILE)|CLOUDSDK_|GOOGLE_APPLICATION_CREDENTIALS|AZURE_CONFIG_DIR|CONDA|APT_CONFIG|DEBIAN_FRONTEND|HOMEBREW_|NUGET_|CHOCOLATEY)`)},
	}
})

type family struct {
	family  string
	pattern *regexp.Regexp
}

// Refused reports whether a step must not set name for later steps, and
// the family of variables it belongs to.
func Refused(name string) (family string, refused bool) {
	upper := strings.ToUpper(name)
	for _, f := range families() {
		if f.pattern.MatchString(upper) {
			return f.family, true
		}
	}
	return "", false
}

// Families lists the refused families with their patterns, for the docs.
func Families() map[string]string {
	out := map[string]string{}
	for _, f := range families() {
		out[f.family] = f.pattern.String()
	}
	return out
}
