package webhook

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidJSON(t *testing.T) {
	tests := map[string]struct {
		in   string
		want bool
	}{
		"object":               {`{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, true},
		"spaces everywhere":    {" \t\n{ \"a\" : [ 1 , 2 ] } \r\n", true},
		"empty containers":     {`[{},[],""]`, true},
		"numbers":              {`[0,-0,1.5,-2e10,3E+2,4e-3,12345678901234567890]`, true},
		"escapes":              {`"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"`, true},
		"invalid utf8 allowed": {"\"\xff\xfe\"", true},
		"scalar":               {`42`, true},
		"empty":                {``, false},
		"only space":           {`   `, false},
		"trailing comma obj":   {`{"a":1,}`, false},
		"trailing comma arr":   {`[1,]`, false},
		"leading zero":         {`01`, false},
		"bare minus":           {`-`, false},
		"dot without digits":   {`1.`, false},
		"exp without digits":   {`1e+`, false},
		"control in string":    {"\"a\x01\"", false},
		"bad escape":           {`"\x"`, false},
		"short unicode":        {`"\u12"`, false},
		"non-hex unicode":      {`"\u12g4"`, false},
		"unterminated string":  {`"abc`, false},
		"unquoted key":         {`{a:1}`, false},
		"two values":           {`1 2`, false},
		"truncated literal":    {`tru`, false},
		"missing colon":        {`{"a" 1}`, false},
		"the GitHub vector":    {"Hello, World!", false},
		"deep but allowed":     {strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth), true},
		"too deep":             {strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ValidJSON([]byte(tc.in)); got != tc.want {
				t.Errorf("ValidJSON = %t, want %t", got, tc.want)
			}
			if std := json.Valid([]byte(tc.in)); std != tc.want {
				t.Errorf("encoding/json.Valid = %t: the table is wrong", std)
			}
		})
	}
}

func BenchmarkValidJSON(b *testing.B) {
	body := readFixture(b, "registry_package_published.json")
	for name, f := range map[string]func([]byte) bool{"ValidJSON": ValidJSON, "encoding/json.Valid": json.Valid} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if !f(body) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
