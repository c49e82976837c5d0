package synth

// Name lists for the synthetic population, most common first; the generator
// draws from them with a Zipf-like skew so that a few names are very common
// (as JAMES, MARY and SMITH are) and most are rare. Written for this
// project; no real person is described.

var maleNames = []string{
	"James", "John", "Robert", "Michael", "William", "David", "Joseph", "Daniel", "Matthew", "Christopher",
	"Anthony", "Joshua", "Andrew", "Thomas", "Charles", "Benjamin", "Samuel", "Jacob", "Alexander", "Nicholas",
	"Ethan", "Noah", "Liam", "Mason", "Logan", "Lucas", "Elijah", "Aiden", "Jackson", "Oliver",
	"Henry", "Owen", "Caleb", "Nathan", "Isaac", "Ryan", "Dylan", "Luke", "Gabriel", "Jonathan",
	"Christian", "Isaiah", "Aaron", "Connor", "Hunter", "Eli", "Adrian", "Landon", "Evan", "Jordan",
	"Gavin", "Cameron", "Tyler", "Brandon", "Kevin", "Justin", "Zachary", "Austin", "Jose", "Carlos",
	"Luis", "Juan", "Diego", "Miguel", "Angel", "Jesus", "Mateo", "Santiago", "Omar", "Ali",
	"Wei", "Minh", "Arjun", "Rohan", "Kwame", "Tariq", "Dmitri", "Stefan", "Finn", "Declan",
	"Silas", "Ezra", "Rowan", "Jasper", "Theodore", "Edward", "Frederick", "Patrick", "Stephen", "Timothy",
	"Richard", "Kenneth", "Ronald", "Donald", "Gregory", "Raymond", "Lawrence", "Walter", "Vincent", "Philip",
}

var femaleNames = []string{
	"Mary", "Elizabeth", "Jennifer", "Sarah", "Jessica", "Emily", "Emma", "Olivia", "Sophia", "Isabella",
	"Ava", "Abigail", "Madison", "Charlotte", "Amelia", "Harper", "Evelyn", "Ella", "Chloe", "Grace",
	"Victoria", "Natalie", "Hannah", "Samantha", "Katherine", "Alexandra", "Rebecca", "Rachel", "Lauren", "Megan",
	"Ashley", "Amanda", "Stephanie", "Nicole", "Melissa", "Michelle", "Kimberly", "Patricia", "Margaret", "Susan",
	"Lily", "Zoe", "Aria", "Layla", "Nora", "Riley", "Scarlett", "Stella", "Lucy", "Hazel",
	"Maria", "Sofia", "Camila", "Valentina", "Lucia", "Gabriela", "Daniela", "Fatima", "Aisha", "Mei",
	"Linh", "Priya", "Ananya", "Amara", "Ingrid", "Freya", "Siobhan", "Niamh", "Yuki", "Leila",
	"Caroline", "Eleanor", "Josephine", "Penelope", "Theresa", "Catherine", "Christina", "Deborah", "Judith", "Virginia",
	"Julia", "Frances", "Dorothy", "Barbara", "Cynthia", "Angela", "Andrea", "Pamela", "Valerie", "Beverly",
	"Matilda", "Beatrice", "Harriet", "Florence", "Constance", "Louise", "Isabel", "Allison", "Danielle", "Jacqueline",
}

var surnames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
	"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
	"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
	"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
	"Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
	"Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
	"Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
	"Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
	"Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
	"Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
	"Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander", "Hamilton", "Graham",
	"Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes", "Bryant", "Herrera", "Gibson",
	"Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens",
	"Harrison", "Fernandez", "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Chen",
	"Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter", "Hunter",
	"Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Munoz", "Hunt", "Hicks",
	"Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone", "Salazar", "Fox",
	"Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson", "Nichols", "Stephens",
	"Soto", "Weaver", "Ryan", "Gardner", "Payne", "Grant", "Dunn", "Kelley", "Spencer", "Hawkins",
	"Okafor", "Nakamura", "Kowalski", "Lindqvist", "O'Brien", "Van der Berg", "Dubois", "Rossi", "Haddad", "Yilmaz",
	"Abernathy", "Blackwood", "Castellanos", "Drummond", "Esposito", "Fairweather", "Gallagher", "Hollingsworth", "Iverson", "Jablonski",
	"Kavanagh", "Lachance", "Montgomery", "Nakashima", "Oyelaran", "Pemberton", "Quintero", "Rasmussen", "Szabo", "Thorne",
	"Underwood", "Valdivia", "Whitfield", "Xiong", "Yamamoto", "Zielinski", "Ashworth", "Beaumont", "Calloway", "Delacroix",
}

var streetNames = []string{
	"Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park",
	"Walnut", "Sunset", "Lincoln", "Jackson", "Church", "River", "Highland", "Spring", "Franklin", "Center",
	"Chestnut", "Willow", "Mill", "Forest", "Meadow", "Ridge", "Valley", "Adams", "Madison", "Jefferson",
	"Birch", "Dogwood", "Magnolia", "Hickory", "Sycamore", "Aspen", "Prospect", "Grove", "Orchard", "Cherry",
}

var streetTypes = []string{"Street", "Avenue", "Road", "Drive", "Lane", "Court", "Place", "Circle", "Boulevard", "Way"}

var cities = []struct{ name, zip, area string }{
	{"Lansing", "48910", "517"}, {"Detroit", "48201", "313"}, {"Grand Rapids", "49503", "616"}, {"Ann Arbor", "48104", "734"},
	{"Flint", "48502", "810"}, {"Kalamazoo", "49007", "269"}, {"Saginaw", "48601", "989"}, {"Traverse City", "49684", "231"},
	{"Marquette", "49855", "906"}, {"Troy", "48084", "248"}, {"Dearborn", "48124", "313"}, {"Livonia", "48150", "734"},
	{"Warren", "48089", "586"}, {"Sterling Heights", "48310", "586"}, {"Southfield", "48075", "248"}, {"Battle Creek", "49017", "269"},
	{"Bay City", "48706", "989"}, {"Jackson", "49201", "517"}, {"Holland", "49423", "616"}, {"Muskegon", "49440", "231"},
}
