/**
 * Realistic, deterministic room data for `npm run db:seed`. The same seed always yields
 * the same rooms in the same order, so re-running the seed skips what it already made
 * (idempotent-ish) and growing `--rooms` only adds the tail.
 */

const TOPICS = [
  "Rust", "TypeScript", "Go", "Python", "Kotlin", "Elixir", "Haskell", "Swift", "Postgres", "React",
  "Machine Learning", "Linux", "Home Lab", "Open Source", "Indie Game Dev", "Pixel Art", "Jazz Guitar",
  "Sourdough", "Espresso", "Chess", "Vinyl", "Film Photography", "Houseplants", "Sci-Fi Books",
  "Language Exchange", "Japanese", "Spanish", "Astronomy", "Bird Watching", "Mechanical Keyboards",
  "Watercolour", "Podcasting", "Synthesizers", "Urban Sketching", "Fermentation", "Retro Computing",
  "Board Games", "Data Viz", "Accessibility", "Product Design",
];
const CIRCLES = [
  "Beginners", "Study Group", "Lounge", "Help Desk", "Club", "Hangout", "Enthusiasts", "Book Club",
  "Office Hours", "Show and Tell", "Circle", "Nerds", "Collective", "Meetup", "Support",
];
const CITIES = [
  "Berlin", "Lisbon", "Tokyo", "Nairobi", "Montréal", "São Paulo", "Oslo", "Melbourne", "Seoul",
  "Cape Town", "Austin", "Zürich", "Dublin", "Kraków", "Mumbai", "Mexico City", "Vancouver", "Lyon",
  "Helsinki", "Buenos Aires", "Taipei", "Edinburgh", "Porto", "Reykjavík", "Istanbul", "Barcelona",
  "Copenhagen", "Singapore", "Ghent", "Wellington",
];
const CROWDS = [
  "Climbers", "Runners", "Cyclists", "Gardeners", "Board Gamers", "Foodies", "Photographers", "Hikers",
  "Swimmers", "Makers", "Coders", "Parents", "Students", "Expats", "Night Owls", "Dog Owners",
  "Book Lovers", "Skaters", "Bakers", "Volunteers",
];

const TOPIC_BLURBS = [
  "A friendly corner for {topic} questions, links and small wins.",
  "Share what you are working on in {topic}, ask for feedback, help someone else get unstuck.",
  "Weekly threads, resource lists and zero gatekeeping. New to {topic}? You are welcome here.",
  "We swap tips, tools and war stories about {topic}. Be kind, stay on topic, have fun.",
  "Casual chat for people who care a little too much about {topic}.",
  "",
];
const CITY_BLURBS = [
  "{crowd} in {city} planning meetups and finding company for the weekend.",
  "Local chat for {crowd} around {city}: plans, recommendations, good spots.",
  "The {city} crew: events, tips and the occasional rant about the weather.",
  "Meet other {crowd} in {city}. Newcomers and visitors welcome.",
  "",
];

const FIRST = [
  "Maya", "Jonas", "Aisha", "Lukas", "Priya", "Mateo", "Yuki", "Noah", "Amara", "Elif", "Sven",
  "Chloé", "Ravi", "Ingrid", "Kwame", "Lena", "Tomás", "Hana", "Omar", "Zoe", "Felix", "Nadia",
  "Arjun", "Sofia", "Kenji", "Ines", "Mikko", "Leila", "Björn", "Grace",
];
const LAST_INITIAL = "ABCDEFGHIJKLMNOPRSTVWZ";

export interface SeedRoom {
  name: string;
  description: string;
  ownerId: string;
  ownerName: string;
  createdAt: Date;
}

/** mulberry32: small, fast, good enough for fixtures, and reproducible from one number. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)] as T;

function fill(template: string, values: Record<string, string>): string {
  const text = template.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? "").replace(/\s+/g, " ").trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

interface Base {
  name: string;
  description: (random: () => number) => string;
}

/** Every distinct base name (case-insensitively unique, none ending in a digit), shuffled by seed. */
function baseNames(random: () => number): Base[] {
  const bases: Base[] = [];
  for (const topic of TOPICS)
    for (const circle of CIRCLES)
      bases.push({
        name: `${topic} ${circle}`,
        description: (r) => fill(pick(TOPIC_BLURBS, r), { topic }),
      });
  for (const city of CITIES)
    for (const crowd of CROWDS)
      bases.push({
        name: `${city} ${crowd}`,
        description: (r) => fill(pick(CITY_BLURBS, r), { city, crowd: crowd.toLowerCase() }),
      });
  const seen = new Set<string>();
  return shuffle(bases, random).filter((b) => !seen.has(b.name.toLowerCase()) && seen.add(b.name.toLowerCase()));
}

/**
 * The first `count` rooms for `seed`. Names stay unique for any count: after every base
 * name has been used once, later rounds append " 2", " 3", ... (bases never end in a
 * digit, so a suffixed name cannot equal a base).
 */
export function* generateRooms(count: number, seed: number, now = new Date()): Generator<SeedRoom> {
  const random = prng(seed);
  const bases = baseNames(random);
  const owners = Array.from({ length: 48 }, (_, i) => ({
    id: `seed_${seed.toString(36)}_${i.toString(36).padStart(2, "0")}_owner`,
    name: `${pick(FIRST, random)} ${pick([...LAST_INITIAL], random)}.`,
  }));
  const ninetyDays = 90 * 86_400_000;
  for (let i = 0; i < count; i++) {
    const base = bases[i % bases.length] as Base;
    const round = Math.floor(i / bases.length);
    const owner = pick(owners, random);
    yield {
      name: round === 0 ? base.name : `${base.name} ${round + 1}`,
      description: base.description(random),
      ownerId: owner.id,
      ownerName: owner.name,
      // Spread over the last 90 days so the list shows varied dates; newer rooms come later.
      createdAt: new Date(now.getTime() - Math.floor(((count - i) / count) * ninetyDays * (0.9 + random() * 0.1))),
    };
  }
}
