// The renderer behind ksm-flux's values templating: Go's text/template with the function map Sveltos
// registers (sprig plus its own YAML/JSON/TOML helpers and the templateResourceRefs accessors), so a
// ServiceSet's values render exactly as under kcm's built-in Sveltos provider. Pure: a request in, a
// result out; the WebAssembly exports (exports_wasip1.go) and the native test drive it.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

// Request is one template to render. Context holds the objects Sveltos exposes to a template.
type Request struct {
	// Name is the template's name; Go puts it in every error message ("template: NAME:LINE:COL: ...").
	Name     string          `json:"name"`
	Template string          `json:"template"`
	Context  json.RawMessage `json:"context"`
	// TextFuncs selects sprig's TxtFuncMap (with env/expandenv) as Sveltos does for the
	// projectsveltos.io/tex-template annotation; kcm never sets it, so the default is sprig's FuncMap.
	TextFuncs bool `json:"textFuncs,omitempty"`
	// MaxOutput bounds the rendered text in bytes (0: unbounded). A template that loops over huge ranges or
	// repeats a string a billion times is stopped at the first write past the bound, instead of growing the
	// module's memory until it dies; the host (render.ts) also bounds the time.
	MaxOutput int `json:"maxOutput,omitempty"`
}

// Result is the rendered text, or the error with the template line it points at (0 when unknown).
type Result struct {
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
	Line   int    `json:"line,omitempty"`
}

// clusterObjects mirrors the data Sveltos hands to value templates: its field names are what users
// write after the dot (.Cluster, .InfrastructureProvider, .KubeadmControlPlane, .MgmtResources).
type clusterObjects struct {
	Cluster                map[string]interface{}
	KubeadmControlPlane    map[string]interface{}
	InfrastructureProvider map[string]interface{}
	MgmtResources          map[string]map[string]interface{}
}

type contextJSON struct {
	Cluster                map[string]interface{}            `json:"Cluster"`
	KubeadmControlPlane    map[string]interface{}            `json:"KubeadmControlPlane"`
	InfrastructureProvider map[string]interface{}            `json:"InfrastructureProvider"`
	MgmtResources          map[string]map[string]interface{} `json:"MgmtResources"`
}

// Render parses and executes one template with missingkey=error, as Sveltos does.
func Render(req Request) Result {
	var ctx contextJSON
	if len(req.Context) > 0 {
		dec := json.NewDecoder(bytes.NewReader(req.Context))
		// Objects Sveltos reads from the API server hold int64 for integers and float64 otherwise; JSON's
		// float64-for-everything would print 3 as 3 but 1e+06 for a million.
		dec.UseNumber()
		if err := dec.Decode(&ctx); err != nil {
			return Result{Error: "context: " + err.Error()}
		}
	}
	data := clusterObjects{
		Cluster:                normalizeMap(ctx.Cluster),
		KubeadmControlPlane:    normalizeMap(ctx.KubeadmControlPlane),
		InfrastructureProvider: normalizeMap(ctx.InfrastructureProvider),
	}
	if ctx.MgmtResources != nil {
		data.MgmtResources = map[string]map[string]interface{}{}
		for k, v := range ctx.MgmtResources {
			data.MgmtResources[k] = normalizeMap(v)
		}
	}
	tmpl, err := template.New(req.Name).Option("missingkey=error").Funcs(funcMap(req.TextFuncs, &data)).Parse(req.Template)
	if err != nil {
		return failure(req.Name, err)
	}
	var out bytes.Buffer
	w := &boundedWriter{buf: &out, max: req.MaxOutput}
	if err := tmpl.Execute(w, data); err != nil {
		if errors.Is(err, errOutputTooLarge) {
			return Result{Error: fmt.Sprintf("rendered output exceeds %d bytes", req.MaxOutput)}
		}
		return failure(req.Name, err)
	}
	return Result{Output: out.String()}
}

var errOutputTooLarge = errors.New("rendered output too large")

// boundedWriter fails the write that would take the output past max bytes; text/template stops there and
// returns the error.
type boundedWriter struct {
	buf *bytes.Buffer
	max int
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if w.max > 0 && w.buf.Len()+len(p) > w.max {
		return 0, errOutputTooLarge
	}
	return w.buf.Write(p)
}

func failure(name string, err error) Result {
	msg := err.Error()
	return Result{Error: msg, Line: lineOf(name, msg)}
}

// lineOf finds the line Go's parser or executor names: "template: NAME:LINE:..." or `executing "NAME" at`
// preceded by "NAME:LINE:COL".
func lineOf(name string, msg string) int {
	re := regexp.MustCompile(regexp.QuoteMeta(name) + `:(\d+)`)
	if m := re.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func normalizeMap(m map[string]interface{}) map[string]interface{} {
	if m == nil {
		return nil
	}
	for k, v := range m {
		m[k] = normalize(v)
	}
	return m
}

func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]interface{}:
		return normalizeMap(t)
	case []interface{}:
		for i := range t {
			t[i] = normalize(t[i])
		}
		return t
	}
	return v
}

// RenderJSON is the wire form: a JSON Request in, a JSON Result out.
func RenderJSON(in []byte) []byte {
	var req Request
	var res Result
	if err := json.Unmarshal(in, &req); err != nil {
		res = Result{Error: fmt.Sprintf("request: %v", err)}
	} else {
		res = Render(req)
	}
	out, err := json.Marshal(res)
	if err != nil {
		return []byte(`{"error":"result: ` + strings.ReplaceAll(err.Error(), `"`, `'`) + `"}`)
	}
	return out
}
