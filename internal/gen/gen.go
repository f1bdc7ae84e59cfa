package gen

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/entralake/entralake/schema"
)

// Defaults of Config.
const (
	DefaultSeed  = 1
	DefaultHours = 24
	DefaultUsers = 3000
)

// DefaultStart is the first hour of a generated export.
var DefaultStart = time.Date(2025, 4, 11, 0, 0, 0, 0, time.UTC)

// ErrUnknownCategory reports a category the generator does not know.
var ErrUnknownCategory = errors.New("unknown category")

// ErrInvalidConfig reports a size or count that cannot be generated.
var ErrInvalidConfig = errors.New("invalid generator config")

// Config configures a Generator. Zero values take the defaults.
type Config struct {
	// Seed fixes every random choice: the same Config gives the same bytes.
	Seed uint64
	// Records is the number of records of the whole export, split between
	// the categories by their share of a typical tenant's volume.
	Records int64
	// Categories limits the export to these categories (the `category`
	// values, e.g. SignInLogs, or container names; any letter case). Empty
	// means every category.
	Categories []string
	// Start is the first hour; records spread over Hours hours from it.
	Start time.Time
	Hours int
	// Users is the number of users of the simulated tenant.
	Users int
}

// Category is one kind of record, exported in its own container.
type Category struct {
	// Name is the value of the records' `category` field.
	Name string
	// Share is the category's part of a tenant's records.
	Share float64
	build func(e *emitter, t int64)
}

// Container is the name of the category's storage container.
func (c Category) Container() string { return schema.ContainerPrefix + strings.ToLower(c.Name) }

// categories are the categories in the order of their blobs; shares are
// those of a mid-size tenant (non-interactive sign-ins dominate).
var categories = []Category{
	{Name: "SignInLogs", Share: 0.12, build: (*emitter).signIn},
	{Name: "NonInteractiveUserSignInLogs", Share: 0.45, build: (*emitter).nonInteractive},
	{Name: "ServicePrincipalSignInLogs", Share: 0.10, build: (*emitter).servicePrincipal},
	{Name: "ManagedIdentitySignInLogs", Share: 0.10, build: (*emitter).managedIdentity},
	{Name: "MicrosoftServicePrincipalSignInLogs", Share: 0.015, build: (*emitter).microsoftServicePrincipal},
	{Name: "AuditLogs", Share: 0.06, build: (*emitter).audit},
	{Name: "MicrosoftGraphActivityLogs", Share: 0.15, build: (*emitter).graphActivity},
	{Name: "RiskyUsers", Share: 0.0025, build: (*emitter).riskyUser},
	{Name: "UserRiskEvents", Share: 0.0025, build: (*emitter).userRiskEvent},
}

// Categories returns every category the generator writes.
func Categories() []Category { return slices.Clone(categories) }

// Blob is one PT1H.json of the export.
type Blob struct {
	// Container and Name locate the blob: <Container>/<Name> under the
	// export root.
	Container string
	Name      string
	// Category is the records' category.
	Category string
	// Hour is the hour of the blob's records.
	Hour time.Time
	// Records is the number of records (lines) in the blob.
	Records int

	cat   int
	index int
}

// Path is the blob's path under the export root, slash-separated.
func (b Blob) Path() string { return b.Container + "/" + b.Name }

// Generator writes the records of one export. It is safe for concurrent use.
type Generator struct {
	cfg   Config
	cats  []int // indexes into categories
	pop   *population
	blobs []Blob
}

// New returns a Generator for cfg.
func New(cfg Config) (*Generator, error) {
	g, err := newGenerator(cfg)
	if err != nil {
		return nil, err
	}
	if g.cfg.Records <= 0 {
		return nil, fmt.Errorf("%w: records %d", ErrInvalidConfig, g.cfg.Records)
	}
	g.plan()
	return g, nil
}

func newGenerator(cfg Config) (*Generator, error) {
	if cfg.Seed == 0 {
		cfg.Seed = DefaultSeed
	}
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	cfg.Start = cfg.Start.UTC().Truncate(time.Hour)
	if cfg.Hours == 0 {
		cfg.Hours = DefaultHours
	}
	if cfg.Users == 0 {
		cfg.Users = DefaultUsers
	}
	if cfg.Hours < 0 || cfg.Users < 0 || cfg.Records < 0 {
		return nil, fmt.Errorf("%w: hours %d, users %d, records %d", ErrInvalidConfig, cfg.Hours, cfg.Users, cfg.Records)
	}
	cats, err := selectCategories(cfg.Categories)
	if err != nil {
		return nil, err
	}
	return &Generator{cfg: cfg, cats: cats, pop: newPopulation(cfg.Seed, cfg.Users)}, nil
}

func selectCategories(names []string) ([]int, error) {
	if len(names) == 0 {
		out := make([]int, len(categories))
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	var out []int
	for _, n := range names {
		n = strings.TrimSpace(n)
		i := slices.IndexFunc(categories, func(c Category) bool {
			return strings.EqualFold(c.Name, n) || strings.EqualFold(c.Container(), n)
		})
		if i < 0 {
			return nil, fmt.Errorf("%w: %q", ErrUnknownCategory, n)
		}
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out, nil
}

// TenantID is the tenant of the generated records.
func (g *Generator) TenantID() string { return g.pop.tenant }

// Blobs returns the plan of the export: every non-empty blob, by category
// then hour.
func (g *Generator) Blobs() []Blob { return slices.Clone(g.blobs) }

// Records is the number of records of the export.
func (g *Generator) Records() int64 { return g.cfg.Records }

// plan splits the records between categories (by share, at least one each
// when there are enough records) and hours (a daily curve peaking in the
// afternoon, UTC), by largest remainders so that the counts add up.
func (g *Generator) plan() {
	shares := make([]float64, len(g.cats))
	for i, c := range g.cats {
		shares[i] = categories[c].Share
	}
	perCat := apportion(g.cfg.Records, shares)
	if g.cfg.Records >= int64(len(g.cats)) {
		for i := range perCat {
			if perCat[i] == 0 {
				perCat[i] = 1
				perCat[slices.Index(perCat, slices.Max(perCat))]--
			}
		}
	}
	hourW := make([]float64, g.cfg.Hours)
	for h := range hourW {
		hod := float64(g.cfg.Start.Add(time.Duration(h) * time.Hour).Hour())
		hourW[h] = 1 + 0.6*math.Cos(2*math.Pi*(hod-14)/24)
	}
	for i, c := range g.cats {
		perHour := apportion(perCat[i], hourW)
		for h, n := range perHour {
			if n == 0 {
				continue
			}
			hour := g.cfg.Start.Add(time.Duration(h) * time.Hour)
			cat := categories[c]
			g.blobs = append(g.blobs, Blob{
				Container: cat.Container(),
				Name: fmt.Sprintf("tenantId=%s/y=%04d/m=%02d/d=%02d/h=%02d/m=00/PT1H.json",
					g.pop.tenant, hour.Year(), int(hour.Month()), hour.Day(), hour.Hour()),
				Category: cat.Name, Hour: hour, Records: int(n), cat: c, index: c*1_000_000 + h,
			})
		}
	}
}

// apportion splits n by weights with the largest-remainder method.
func apportion(n int64, weights []float64) []int64 {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	out := make([]int64, len(weights))
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(weights))
	var given int64
	for i, w := range weights {
		exact := float64(n) * w / sum
		out[i] = int64(exact)
		given += out[i]
		rems[i] = rem{i, exact - float64(out[i])}
	}
	slices.SortStableFunc(rems, func(a, b rem) int {
		switch {
		case a.r > b.r:
			return -1
		case a.r < b.r:
			return 1
		}
		return a.i - b.i
	})
	for k := 0; given < n; k++ {
		out[rems[k%len(rems)].i]++
		given++
	}
	return out
}

// flushAt is the buffer size at which WriteBlob hands bytes to the writer.
const flushAt = 256 << 10

// WriteBlob writes the records of b to w and returns the bytes written.
// Times are spread over the blob's hour in increasing order.
func (g *Generator) WriteBlob(w io.Writer, b Blob) (int64, error) {
	e := g.newEmitter(b)
	out := make([]byte, 0, flushAt+32<<10)
	var total int64
	start := b.Hour.UnixNano() / 100 // ticks of 100 ns
	const hourTicks = int64(time.Hour / 100)
	n := float64(b.Records)
	build := categories[b.cat].build
	for i := 0; i < b.Records; i++ {
		t := start + int64((float64(i)+e.r.Float64())/n*float64(hourTicks))
		e.b = out
		build(e, t)
		out = append(e.b, '\r', '\n')
		if len(out) >= flushAt {
			k, err := w.Write(out)
			total += int64(k)
			if err != nil {
				return total, err
			}
			out = out[:0]
		}
	}
	if len(out) > 0 {
		k, err := w.Write(out)
		total += int64(k)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (g *Generator) newEmitter(b Blob) *emitter {
	return &emitter{
		r:   rand.New(rand.NewPCG(g.cfg.Seed, 0x9e3779b97f4a7c15^uint64(b.index))),
		p:   g.pop,
		cat: categories[b.cat].Name,
	}
}

// MeanRecordSize estimates the average size in bytes (line end included)
// of a record of cfg's export, from a sample of every category.
func MeanRecordSize(cfg Config) (float64, error) {
	g, err := newGenerator(cfg)
	if err != nil {
		return 0, err
	}
	const sample = 512
	var mean, shares float64
	for _, c := range g.cats {
		size, err := g.WriteBlob(io.Discard, Blob{Hour: g.cfg.Start, Records: sample, cat: c, index: -1 - c})
		if err != nil {
			return 0, err
		}
		mean += float64(size) / sample * categories[c].Share
		shares += categories[c].Share
	}
	return mean / shares, nil
}

// RecordsForSize returns the number of records that makes cfg's export
// about size bytes.
func RecordsForSize(cfg Config, size int64) (int64, error) {
	if size <= 0 {
		return 0, fmt.Errorf("%w: size %d", ErrInvalidConfig, size)
	}
	m, err := MeanRecordSize(cfg)
	if err != nil {
		return 0, err
	}
	return max(1, int64(math.Ceil(float64(size)/m))), nil
}
