package secretref

import "testing"

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in                   string
		name, scheme, path   string
		fragment, queryValue string
	}{
		{"DB=ref+awssecrets://prod/db?region=eu-west-1#/password", "DB", "awssecrets", "prod/db", "/password", "eu-west-1"},
		{"ref+awssecrets://prod/db", "DB", "awssecrets", "prod/db", "", ""},
		{"ref+awssecrets://arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:prod/api-AbCdEf", "API_ABCDEF", "awssecrets", "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:prod/api-AbCdEf", "", ""},
		{"ref+file://secrets.yaml#/db/password", "PASSWORD", "file", "secrets.yaml", "/db/password", ""},
		{"ref+envsubst://$TOKEN", "TOKEN", "envsubst", "$TOKEN", "", ""},
		{"secret.dbPassword=ref+file:///run/s.yaml#/x", "secret.dbPassword", "file", "/run/s.yaml", "/x", ""},
		{"  X = ref+envsubst://${A}  ", "X", "envsubst", "${A}", "", ""},
		{"ref+awssecrets://team/*", "TEAM", "awssecrets", "team/*", "", ""},
	}
	for _, tt := range tests {
		s, err := ParseSpec(tt.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tt.in, err)
			continue
		}
		if s.Name != tt.name || s.Ref.Scheme != tt.scheme || s.Ref.Path != tt.path || s.Ref.Fragment != tt.fragment {
			t.Errorf("ParseSpec(%q) = %s %s %s %s, want %s %s %s %s", tt.in,
				s.Name, s.Ref.Scheme, s.Ref.Path, s.Ref.Fragment, tt.name, tt.scheme, tt.path, tt.fragment)
		}
		if got := s.Ref.Query.Get("region"); got != tt.queryValue {
			t.Errorf("ParseSpec(%q) region = %q, want %q", tt.in, got, tt.queryValue)
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"X=",
		"X=plain-value",
		"ref+://x",
		"ref+file://",
		"ref+file://a#b",
		"1BAD=ref+file://a",
		"ref+awssecrets:/x",
	} {
		if s, err := ParseSpec(in); err == nil {
			t.Errorf("ParseSpec(%q) = %+v, want an error", in, s)
		}
	}
}
